using System.Text.Json;
using OrleansGateway.Cli;

namespace OrleansGateway.Host.Tests;

public sealed class CheckCommandTests
{
    private static (int Exit, string Output, string Error) Ogw(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static TempConfigDir GoodAndBroken()
    {
        var dir = new TempConfigDir();
        dir.Write("good.yaml", Yaml.TcpMapping("ssh", 2222, "upstream:22") + "\n" + Yaml.TcpMapping("db", 26257, "cockroach:26257"));
        dir.Write("sub/broken.yaml", Yaml.TcpMapping("fine", 3000, "fine:1") + "\n" + Yaml.TcpMapping("broken", 3001, "x:1").Replace("port: 3001", "port: seventy"));
        return dir;
    }

    [Fact]
    public void A_broken_document_fails_the_check_and_is_reported_with_its_file_and_document_while_the_rest_is_Accepted()
    {
        using var dir = GoodAndBroken();

        var (exit, output, _) = Ogw("check", dir.Path, "--output", "json");

        Assert.Equal(1, exit);
        using var json = JsonDocument.Parse(output);
        var resources = json.RootElement.GetProperty("resources").EnumerateArray().ToList();
        foreach (var name in new[] { "ssh", "db", "fine" })
        {
            var resource = Assert.Single(resources, r => r.GetProperty("name").GetString() == name);
            Assert.Equal("Accepted", resource.GetProperty("status").GetString());
        }

        var broken = Assert.Single(resources, r => r.GetProperty("name").GetString() == "broken");
        Assert.Equal("Discarded", broken.GetProperty("status").GetString());
        Assert.NotEmpty(broken.GetProperty("messages").EnumerateArray());
        Assert.EndsWith("broken.yaml", broken.GetProperty("source").GetProperty("file").GetString());
        Assert.Equal(1, broken.GetProperty("source").GetProperty("document").GetInt32());

        var ports = json.RootElement.GetProperty("listeners").EnumerateArray().Select(l => l.GetProperty("port").GetInt32()).Order();
        Assert.Equal([2222, 3000, 26257], ports);
    }

    [Fact]
    public void The_JSON_report_has_every_field_of_the_contract_in_a_stable_order()
    {
        using var dir = new TempConfigDir();
        using var certificate = TestCertificates.SelfSigned("db.example.com");
        dir.Write("tls.yaml", Yaml.TlsContext("ctx", "db.example.com", "db-cert") + "\n" + Yaml.TlsSecret("db-cert", certificate)
            + "\n" + Yaml.TcpMapping("db", 5432, "https://db:5432", host: "db.example.com")
            + "\n" + Yaml.TcpMapping("raw", 5432, "raw:22"));
        dir.Write("unreadable.yaml", "kind: [unclosed\n");

        var (_, output, _) = Ogw("check", dir.Path, "--output", "json", "--ambassador-id", "default");

        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(["ambassadorId", "resources", "listeners", "diagnostics"], Names(root));
        Assert.Equal("default", root.GetProperty("ambassadorId").GetString());
        Assert.Equal(["kind", "name", "namespace", "status", "messages", "source"], Names(root.GetProperty("resources")[0]));
        Assert.Equal(["file", "document", "line"], Names(root.GetProperty("resources")[0].GetProperty("source")));

        var listener = root.GetProperty("listeners")[0];
        Assert.Equal(["address", "port", "tls", "name", "statsPrefix", "routes"], Names(listener));
        Assert.True(listener.GetProperty("tls").GetBoolean());
        var routes = listener.GetProperty("routes").EnumerateArray().ToList();
        Assert.Equal(["host", "certificateSource", "upstreams"], Names(routes[0]));
        var sni = Assert.Single(routes, r => r.GetProperty("host").GetString() == "db.example.com");
        Assert.Equal("TLSContext default/ctx", sni.GetProperty("certificateSource").GetString());
        var catchAll = Assert.Single(routes, r => r.GetProperty("host").ValueKind == JsonValueKind.Null);
        Assert.Equal(JsonValueKind.Null, catchAll.GetProperty("certificateSource").ValueKind);

        var upstream = sni.GetProperty("upstreams")[0];
        Assert.Equal(["mapping", "service", "weight", "originateTls", "sni", "idleTimeoutMs", "connectTimeoutMs"], Names(upstream));
        Assert.Equal("default/db", upstream.GetProperty("mapping").GetString());
        Assert.Equal(100, upstream.GetProperty("weight").GetDouble());
        Assert.True(upstream.GetProperty("originateTls").GetBoolean());

        var diagnostic = Assert.Single(root.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("file").GetString()!.EndsWith("unreadable.yaml", StringComparison.Ordinal));
        Assert.Equal(["severity", "code", "message", "file", "document", "line", "field", "resource"], Names(diagnostic));
        Assert.Equal("error", diagnostic.GetProperty("severity").GetString());
    }

    [Fact]
    public void Text_output_lists_resources_listeners_routes_and_file_problems()
    {
        using var dir = GoodAndBroken();
        dir.Write("unreadable.yaml", "kind: [unclosed\n");

        var (exit, output, _) = Ogw("check", dir.Path);

        Assert.Equal(1, exit);
        Assert.Matches(@"TCPMapping\s+default/ssh\s+Accepted", output);
        Assert.Matches(@"TCPMapping\s+default/broken\s+Discarded\s+\S", output);
        Assert.Contains("0.0.0.0:2222  tcp", output);
        Assert.Contains("(catch-all)", output);
        Assert.Contains("-> upstream:22  100%  (default/ssh)", output);
        Assert.Matches(@"error: .*unreadable\.yaml", output);
    }

    [Fact]
    public void A_Secret_whose_certificate_cannot_be_used_is_Discarded_and_so_is_what_needs_it()
    {
        using var dir = new TempConfigDir();
        using var certificate = TestCertificates.SelfSigned("db.example.com");
        using var other = TestCertificates.SelfSigned("other.example.com");
        var mismatched = Yaml.TlsSecret("db-cert", certificate, keyFrom: other);
        dir.Write("tls.yaml", Yaml.TlsContext("ctx", "db.example.com", "db-cert") + "\n" + mismatched
            + "\n" + Yaml.TcpMapping("db", 5432, "db:5432", host: "db.example.com"));

        var (exit, output, _) = Ogw("check", dir.Path, "--output", "json");

        Assert.Equal(1, exit);
        using var json = JsonDocument.Parse(output);
        var resources = json.RootElement.GetProperty("resources").EnumerateArray().ToList();
        var secretStatus = Assert.Single(resources, r => r.GetProperty("kind").GetString() == "Secret");
        Assert.Equal("Discarded", secretStatus.GetProperty("status").GetString());
        Assert.NotEmpty(secretStatus.GetProperty("messages").EnumerateArray());
        var mapping = Assert.Single(resources, r => r.GetProperty("name").GetString() == "db");
        Assert.Equal("Discarded", mapping.GetProperty("status").GetString());
        Assert.Empty(json.RootElement.GetProperty("listeners").EnumerateArray());
    }

    [Fact]
    public void A_single_file_can_be_checked()
    {
        using var dir = GoodAndBroken();

        var (exit, output, _) = Ogw("check", Path.Combine(dir.Path, "good.yaml"), "--output", "json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(["db", "ssh"], json.RootElement.GetProperty("resources").EnumerateArray().Select(r => r.GetProperty("name").GetString()).Order());
    }

    [Theory]
    [InlineData("1-plain-tcp")]
    [InlineData("2-terminate-tls")]
    [InlineData("3-terminate-and-originate-tls")]
    [InlineData("4-originate-tls")]
    public void Every_spec_example_checks_clean(string example)
    {
        var (exit, output, error) = Ogw("check", Path.Combine(RepositoryRoot(), "examples", "spec", example));

        Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
        Assert.DoesNotContain("Discarded", output);
    }

    [Theory]
    [InlineData("check")]
    [InlineData("check", "{dir}", "--bogus")]
    [InlineData("check", "{dir}", "--output", "xml")]
    [InlineData("check", "{dir}/does-not-exist")]
    [InlineData("check", "{dir}", "--bind-address", "not-an-ip")]
    [InlineData("frobnicate")]
    [InlineData("dev-cert", "--host", "a.localhost", "--name", "a", "--out", "{dir}/a.yaml", "--days", "0")]
    [InlineData("dev-cert", "--name", "a", "--out", "{dir}/a.yaml")]
    [InlineData("echo", "--listen", "localhost")]
    [InlineData]
    public void Usage_errors_exit_2_with_a_message_on_stderr(params string[] args)
    {
        using var dir = new TempConfigDir();

        var (exit, output, error) = Ogw([.. args.Select(a => a.Replace("{dir}", dir.Path, StringComparison.Ordinal))]);

        Assert.Equal(2, exit);
        Assert.NotEqual("", error.Trim());
        Assert.Equal("", output);
    }

    [Fact]
    public void Dev_cert_writes_a_Secret_that_check_accepts_for_TLS_termination()
    {
        using var dir = new TempConfigDir();
        var secretFile = Path.Combine(dir.Path, "cert.yaml");

        var (made, _, makeError) = Ogw("dev-cert", "--host", "demo.localhost", "--host", "other.localhost", "--name", "demo-cert", "--out", secretFile);
        dir.Write("tls.yaml", Yaml.TlsContext("ctx", "demo.localhost", "demo-cert") + "\n" + Yaml.TcpMapping("demo", 7443, "echo:9000", host: "demo.localhost"));
        var (exit, output, _) = Ogw("check", dir.Path, "--output", "json");

        Assert.True(made == 0, makeError);
        Assert.Contains("kubernetes.io/tls", File.ReadAllText(secretFile));
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.All(json.RootElement.GetProperty("resources").EnumerateArray(), r => Assert.Equal("Accepted", r.GetProperty("status").GetString()));
        Assert.Contains(json.RootElement.GetProperty("resources").EnumerateArray(), r => r.GetProperty("kind").GetString() == "Secret");
    }

    private static List<string> Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OrleansGateway.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("OrleansGateway.sln not found above the test binaries");
    }
}
