using OrleansGateway.Sources.ConfigDirectory;

namespace OrleansGateway.Host.Tests;

/// <summary>The poll half of change detection: it must see what the loader reads, and only that.</summary>
public sealed class ConfigFingerprintTests
{
    [Fact]
    public void Changes_when_a_resource_file_is_added_changed_or_removed()
    {
        using var dir = new TempConfigDir();
        var empty = ConfigFingerprint.Of(dir.Path);

        var file = dir.Write("sub/a.yaml", "a: 1\n");
        var added = ConfigFingerprint.Of(dir.Path);
        dir.Write("sub/a.yaml", "a: 12\n");
        var changed = ConfigFingerprint.Of(dir.Path);
        File.Delete(file);
        var removed = ConfigFingerprint.Of(dir.Path);

        Assert.NotEqual(empty, added);
        Assert.NotEqual(added, changed);
        Assert.NotEqual(changed, removed);

        // An empty subdirectory is still a tenant (with nothing: what the directory gave it is pruned); gone, it is not.
        Assert.Equal(["default", "sub"], ConfigFingerprint.OfTenants(dir.Path).Keys);
        Directory.Delete(Path.GetDirectoryName(file)!);
        Assert.Equal(empty, ConfigFingerprint.Of(dir.Path));
    }

    [Fact]
    public void Is_kept_per_tenant_so_an_edit_changes_only_its_tenants_fingerprint()
    {
        using var dir = new TempConfigDir();
        dir.Write("top.yaml", "a: 1\n");
        dir.Write("acme/a.yaml", "a: 1\n");
        dir.Write("acme/deep/b.yml", "b: 1\n");
        dir.Write("globex/g.json", "{}\n");
        var before = ConfigFingerprint.OfTenants(dir.Path);

        dir.Write("acme/deep/b.yml", "b: 22\n");
        var after = ConfigFingerprint.OfTenants(dir.Path);

        Assert.Equal(["acme", "default", "globex"], after.Keys);
        Assert.NotEqual(before["acme"], after["acme"]);
        Assert.Equal(before["default"], after["default"]);
        Assert.Equal(before["globex"], after["globex"]);
    }

    [Fact]
    public void Ignores_files_the_loader_skips()
    {
        using var dir = new TempConfigDir();
        dir.Write("a.yaml", "a: 1\n");
        var before = ConfigFingerprint.Of(dir.Path);

        dir.Write("notes.txt", "not a resource\n");
        dir.Write(".hidden.yaml", "a: 1\n");
        dir.Write(".git/config.json", "{}\n");

        Assert.Equal(before, ConfigFingerprint.Of(dir.Path));
    }

    [Fact]
    public void Sees_a_change_behind_an_unchanged_symlink_as_in_a_ConfigMap_mount()
    {
        using var dir = new TempConfigDir();
        dir.Write("..v1/m.yaml", "a: 1\n");
        dir.Write("..v2/m.yaml", "a: 22\n");
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "..data"), Path.Combine(dir.Path, "..v1"));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "m.yaml"), Path.Combine(dir.Path, "..data", "m.yaml"));
        var before = ConfigFingerprint.Of(dir.Path);

        // Kubernetes repoints ..data (by an atomic rename; re-creating it does the same here); m.yaml never changes.
        Directory.Delete(Path.Combine(dir.Path, "..data"));
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "..data"), Path.Combine(dir.Path, "..v2"));

        Assert.NotEqual(before, ConfigFingerprint.Of(dir.Path));
    }
}
