using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

public sealed class LoadPathTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("ogw-loader-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Write(string relative, string text)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Mapping(string name) => LoaderAssert.TcpMapping("port: 1\nservice: a", name);

    [Fact]
    public void Directory_is_read_recursively_in_ordinal_order_skipping_dot_entries()
    {
        Write("b.yaml", Mapping("b"));
        Write("a.yml", Mapping("a") + "\n---\n" + Mapping("a2"));
        Write("Z.json", """{"apiVersion":"getambassador.io/v3alpha1","kind":"TCPMapping","metadata":{"name":"z"},"spec":{"port":1,"service":"a"}}""");
        Write("nested/deeper/c.YAML", Mapping("c"));
        Write("nested/readme.md", "not yaml: [");
        Write(".hidden.yaml", Mapping("hidden"));
        Write("..data/d.yaml", Mapping("configmap-internal"));
        Write(".git/e.yaml", Mapping("git"));

        var result = ResourceLoader.LoadPath(root);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(["z", "a", "a2", "b", "c"], result.Resources.Select(r => r.Name).ToArray());
        Assert.Equal(Path.Join(root, "nested/deeper/c.YAML"), result.Resources[4].Source!.File);
        Assert.Equal(new SourceLocation(Path.Join(root, "a.yml"), 1, 9), result.Resources[2].Source);
    }

    [Fact]
    public void File_name_in_diagnostics_is_the_path_as_given_joined_with_the_relative_path()
    {
        Write("sub/bad.yaml", LoaderAssert.TcpMapping("port: x\nservice: a"));
        var given = root + "/./";

        var result = ResourceLoader.LoadPath(given);

        Assert.Equal(Path.Join(given, "sub/bad.yaml"), Assert.Single(result.Diagnostics).Source!.File);
    }

    [Fact]
    public void Symlinked_files_are_read_and_symlink_loops_end()
    {
        Write("..2026_01_01/config.yaml", Mapping("via-link"));
        Directory.CreateSymbolicLink(Path.Combine(root, "..data"), Path.Combine(root, "..2026_01_01"));
        File.CreateSymbolicLink(Path.Combine(root, "config.yaml"), Path.Combine(root, "..data", "config.yaml"));
        Directory.CreateDirectory(Path.Combine(root, "loop"));
        Directory.CreateSymbolicLink(Path.Combine(root, "loop", "again"), root);

        var result = ResourceLoader.LoadPath(root);

        Assert.Empty(result.Diagnostics);
        Assert.Equal("via-link", Assert.Single(result.Resources).Name);
    }

    [Fact]
    public void A_single_file_is_read_whatever_its_extension()
    {
        var path = Write("mappings.txt", Mapping("m"));

        var result = ResourceLoader.LoadPath(path);

        Assert.Equal(path, Assert.Single(result.Resources).Source!.File);
    }

    [Fact]
    public void A_missing_path_is_a_diagnostic()
    {
        var missing = Path.Combine(root, "nope");

        var result = ResourceLoader.LoadPath(missing);

        Assert.Empty(result.Resources);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Error, DiagnosticCodes.IoError), (error.Severity, error.Code));
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void An_unreadable_file_is_a_diagnostic_and_the_others_still_load()
    {
        // A dangling symlink fails to read whatever the user's rights (tests may run as root).
        Write("a.yaml", Mapping("a"));
        var dangling = Path.Combine(root, "b.yaml");
        File.CreateSymbolicLink(dangling, Path.Combine(root, "missing-target.yaml"));

        var result = ResourceLoader.LoadPath(root);

        Assert.Equal("a", Assert.Single(result.Resources).Name);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Error, DiagnosticCodes.IoError), (error.Severity, error.Code));
        Assert.Contains(dangling, error.Message);
    }
}
