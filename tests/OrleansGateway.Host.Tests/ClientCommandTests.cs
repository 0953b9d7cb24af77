using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansGateway.Cli;
using OrleansGateway.Cli.Commands;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Host.Tests;

/// <summary>One real gateway (memory storage, an admin key) and an echo upstream, shared by the client tests.</summary>
public sealed class ClientGatewayFixture : IAsyncLifetime
{
    private readonly TempConfigDir _config = new();
    private RunningGateway _gateway = null!;
    private EchoServer _echo = null!;

    /// <summary>Made for this run: long enough for the gateway (16+ characters), never a fixed secret.</summary>
    public string AdminKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    public string Server => _gateway.Http.BaseAddress!.ToString();

    public string Upstream => $"127.0.0.1:{_echo.Endpoint.Port}";

    public async ValueTask InitializeAsync()
    {
        _echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var keyFile = _config.Write(".admin-key", AdminKey + "\n");
        // A generous start limit: on a loaded CI machine the first start (JIT, silo join) can pass the usual 20 s.
        _gateway = await RunningGateway.LaunchAsync(
            ["--config-dir", _config.Path, .. Ports.SiloArgs(), "--admin-key-file", keyFile], TimeSpan.FromSeconds(90));
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _echo.DisposeAsync();
        _config.Dispose();
    }
}

/// <summary>
/// <c>ogw</c> as the client of the management API, against the real gateway over loopback: each call goes through
/// <see cref="Program.Run(string[], TextWriter, TextWriter, IReadOnlyDictionary{string, string})"/> with its own
/// environment, as a shell would run it.
/// </summary>
public sealed class ClientCommandTests(ClientGatewayFixture gateway) : IClassFixture<ClientGatewayFixture>
{
    private sealed record Result(int Exit, string Output, string Error)
    {
        public override string ToString() => $"exit {Exit}\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    private static Result Ogw(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, output, error, environment);
        return new Result(exit, output.ToString(), error.ToString());
    }

    private Dictionary<string, string> Admin => new() { ["OGW_SERVER"] = gateway.Server, ["OGW_TOKEN"] = gateway.AdminKey };

    private Dictionary<string, string> As(string token) => new() { ["OGW_SERVER"] = gateway.Server, ["OGW_TOKEN"] = token };

    private static void Succeeds(Result result) => Assert.True(result.Exit == 0, result.ToString());

    /// <summary>
    /// Creates <paramref name="tenant"/> and returns a new key of it, as an admin would with <c>ogw</c>; without
    /// <paramref name="quota"/> options it may use any port and host name and reach loopback (the tests' echo server).
    /// </summary>
    private string TenantWithKey(string tenant, params string[] quota)
    {
        string[] options = quota.Length > 0 ? quota : ["--unlimited", "--upstreams", "127.0.0.0/8"];
        Succeeds(Ogw(Admin, ["tenants", "create", tenant, .. options]));
        var issued = Ogw(Admin, "tenants", "keys", "issue", tenant, "-o", "json");
        Succeeds(issued);
        using var key = JsonDocument.Parse(issued.Output);
        return key.RootElement.GetProperty("token").GetString()!;
    }

    [Fact]
    public void An_admin_creates_a_tenant_with_a_quota_issues_lists_and_revokes_its_keys()
    {
        var created = Ogw(Admin, "tenants", "create", "admin-flow", "--ports", "7000-7099,8443", "--max-listeners", "3", "--max-connections", "50");
        Succeeds(created);
        Assert.Contains("Created tenant 'admin-flow'", created.Output);
        Assert.Contains("ports 7000-7099,8443, listeners 3, mappings unlimited, connections 50", created.Output);

        var json = Ogw(Admin, "tenants", "get", "admin-flow", "-o", "json");
        Succeeds(json);
        using (var tenant = JsonDocument.Parse(json.Output))
        {
            var quota = tenant.RootElement.GetProperty("quota");
            Assert.Equal(["7000-7099", "8443"], quota.GetProperty("allowedPorts").EnumerateArray().Select(p => p.GetString()));
            Assert.Equal(3, quota.GetProperty("maxListeners").GetInt32());
            Assert.Equal(JsonValueKind.Null, quota.GetProperty("maxMappings").ValueKind);
        }

        var issued = Ogw(Admin, "tenants", "keys", "issue", "admin-flow", "--description", "ci");
        Succeeds(issued);
        var token = issued.Output.Split('\n').Single(l => l.StartsWith("token: ", StringComparison.Ordinal))["token: ".Length..].Trim();
        Assert.StartsWith("ogw.admin-flow.", token);
        Assert.Contains("not shown again", issued.Output);
        var keyId = token.Split('.')[2];

        var listed = Ogw(Admin, "tenants", "keys", "list", "admin-flow");
        Succeeds(listed);
        Assert.Contains(keyId, listed.Output);
        Assert.Contains("ci", listed.Output);
        Assert.DoesNotContain(token.Split('.')[3], listed.Output);

        var who = Ogw(As(token), "whoami");
        Succeeds(who);
        Assert.Contains($"tenant 'admin-flow' (key {keyId})", who.Output);

        var tenants = Ogw(Admin, "tenants", "list");
        Succeeds(tenants);
        Assert.Contains(tenants.Output.Split('\n'), l => l.StartsWith("admin-flow ", StringComparison.Ordinal));

        // update replaces the whole quota: lists not given grant nothing, limits not given are lifted; --unlimited opens the lists.
        var updated = Ogw(Admin, "tenants", "update", "admin-flow", "--max-mappings", "5");
        Succeeds(updated);
        Assert.Contains("ports none, listeners unlimited, mappings 5, connections unlimited, upstreams none, hosts none", updated.Output);
        var opened = Ogw(Admin, "tenants", "update", "admin-flow", "--unlimited", "--hosts", "*.Shop.Example.", "--upstreams", "10.1.2.3,*.svc.cluster.local");
        Succeeds(opened);
        Assert.Contains("ports any, listeners unlimited, mappings unlimited, connections unlimited, upstreams 10.1.2.3/32,*.svc.cluster.local, hosts *.shop.example", opened.Output);

        Succeeds(Ogw(Admin, "tenants", "keys", "revoke", "admin-flow", keyId));
        var revoked = Ogw(As(token), "whoami");
        Assert.Equal(3, revoked.Exit);
        Assert.Contains("OGW_TOKEN", revoked.Error);

        Succeeds(Ogw(Admin, "tenants", "delete", "admin-flow"));
        var gone = Ogw(Admin, "tenants", "get", "admin-flow");
        Assert.Equal(1, gone.Exit);
        Assert.Contains("not found (404", gone.Error);
    }

    [Fact]
    public void A_tenant_created_without_quota_options_may_use_nothing_and_a_bad_entry_is_named()
    {
        var created = Ogw(Admin, "tenants", "create", "cli-deny-all");
        Succeeds(created);
        Assert.Contains("ports none, listeners unlimited, mappings unlimited, connections unlimited, upstreams none, hosts none", created.Output);
        var issued = Ogw(Admin, "tenants", "keys", "issue", "cli-deny-all", "-o", "json");
        Succeeds(issued);
        using var key = JsonDocument.Parse(issued.Output);
        using var dir = new TempConfigDir();
        dir.Write("m.yaml", Yaml.TcpMapping("m", Ports.Free(), gateway.Upstream));

        var refused = Ogw(As(key.RootElement.GetProperty("token").GetString()!), "apply", "-f", dir.Path);

        Assert.Equal(1, refused.Exit);
        Assert.Contains("quota AllowedPorts", refused.Error);

        var bad = Ogw(Admin, "tenants", "create", "cli-bad-range", "--upstreams", "10.0.0.0/8,10.0.0.1/8");
        Assert.Equal(1, bad.Exit);
        Assert.Contains("allowedUpstreams[1]", bad.Error);
        Assert.Contains("10.0.0.0/8", bad.Error);
        var badHost = Ogw(Admin, "tenants", "create", "cli-bad-host", "--hosts", "shop*.example.com");
        Assert.Equal(1, badHost.Exit);
        Assert.Contains("allowedHosts[0]", badHost.Error);
        Assert.Equal(1, Ogw(Admin, "tenants", "get", "cli-bad-range").Exit);
    }

    [Fact]
    public async Task A_tenant_applies_a_directory_sees_it_Accepted_and_bound_connects_through_it_and_deletes_it()
    {
        var token = TenantWithKey("tenant-flow");
        var env = As(token);
        int port = Ports.Free(), otherPort = Ports.Free();
        using var dir = new TempConfigDir();
        dir.Write("echo.yaml", Yaml.TcpMapping("echo", port, gateway.Upstream));
        dir.Write("more/other.yml", Yaml.TcpMapping("other", otherPort, gateway.Upstream));
        dir.Write(".hidden/skipped.yaml", "this: is not read");

        var applied = Ogw(env, "apply", "-f", dir.Path);
        Succeeds(applied);
        Assert.Matches(@"TCPMapping\s+default/echo\s+Accepted", applied.Output);
        Assert.Matches(@"TCPMapping\s+default/other\s+Accepted", applied.Output);

        var table = Ogw(env, "get");
        Succeeds(table);
        Assert.Matches(@"TCPMapping\s+default/echo\s+Accepted", table.Output);

        var json = Ogw(env, "get", "-o", "json");
        Succeeds(json);
        using (var views = JsonDocument.Parse(json.Output))
        {
            Assert.Equal(["echo", "other"], views.RootElement.EnumerateArray().Select(v => v.GetProperty("name").GetString()).Order());
        }

        var one = Ogw(env, "get", "tcpmapping", "echo", "-o", "yaml");
        Succeeds(one);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(one.Output));
        Assert.Equal("Accepted", ((YamlMappingNode)yaml.Documents[0].RootNode)["status"].ToString());

        // The listener shows at once; the edges report it bound a moment later (and traffic proves it).
        var status = Ogw(env, "status");
        Succeeds(status);
        Assert.Matches($@"127\.0\.0\.1:{port}\s+tcp\s", status.Output);
        Assert.Contains("2 listener(s), 2 mapping(s)", status.Output);
        var statusYaml = new YamlStream();
        statusYaml.Load(new StringReader(Ogw(env, "status", "-o", "yaml").Output));
        var listeners = (YamlSequenceNode)((YamlMappingNode)statusYaml.Documents[0].RootNode)["listeners"];
        Assert.Equal(
            new[] { $"{port}", $"{otherPort}" }.Order(),
            listeners.Children.Select(l => ((YamlMappingNode)l)["port"].ToString()).Order());
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "up") == "up", TimeSpan.FromSeconds(10)));
        Assert.Equal("through ogw", await Traffic.EchoAsync(port, "through ogw"));
        Assert.True(
            await Eventually.TrueAsync(
                () => Task.FromResult(Regex.IsMatch(Ogw(env, "status").Output, $@"127\.0\.0\.1:{port}\s+tcp\s+yes\s")), TimeSpan.FromSeconds(15)),
            Ogw(env, "status").ToString());

        var deleted = Ogw(env, "delete", "TCPMapping", "echo");
        Succeeds(deleted);
        var deletedByFile = Ogw(env, "delete", "-f", System.IO.Path.Join(dir.Path, "more"));
        Succeeds(deletedByFile);
        var empty = Ogw(env, "get");
        Succeeds(empty);
        Assert.Contains("No resources.", empty.Output);
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "gone") is null, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_burst_over_the_API_rate_limit_is_retried_after_Retry_After_and_every_call_succeeds()
    {
        // The fixture runs the default limit (20 requests per second per key): 60 calls in a row pass it at
        // in-process speed, and ogw waits out each 429's Retry-After instead of failing the command.
        var env = As(TenantWithKey("burst-flow"));
        for (var i = 0; i < 60; i++)
        {
            var whoami = Ogw(env, "whoami");
            Succeeds(whoami);
            Assert.Contains("burst-flow", whoami.Output);
        }
    }

    [Fact]
    public void A_refused_apply_names_each_file_and_line_and_changes_nothing()
    {
        var env = As(TenantWithKey("refused-flow"));
        int port = Ports.Free();
        using var first = new TempConfigDir();
        first.Write("kept.yaml", Yaml.TcpMapping("kept", port, gateway.Upstream));
        Succeeds(Ogw(env, "apply", "-f", first.Path));

        using var dir = new TempConfigDir();
        dir.Write("a-good.yaml", Yaml.TcpMapping("new", Ports.Free(), gateway.Upstream));
        dir.Write("b-broken.yaml", Yaml.TcpMapping("broken", 3001, "x:1").Replace("port: 3001", "port: seventy"));

        var refused = Ogw(env, "apply", "-f", dir.Path);

        Assert.Equal(1, refused.Exit);
        Assert.True(Regex.IsMatch(refused.Error, @"error: \S+/b-broken\.yaml: document 0 \(line 7\): TCPMapping 'broken' \(namespace default\)( discarded)?: spec\.port: "), refused.ToString());
        var names = JsonDocument.Parse(Ogw(env, "get", "-o", "json").Output).RootElement.EnumerateArray().Select(v => v.GetProperty("name").GetString());
        Assert.Equal(["kept"], names);

        var json = Ogw(env, "apply", "-f", dir.Path, "-o", "json");
        Assert.Equal(1, json.Exit);
        using var problem = JsonDocument.Parse(json.Output);
        Assert.Equal(422, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public void A_dry_run_reports_the_outcome_and_changes_nothing()
    {
        var env = As(TenantWithKey("dry-flow"));
        using var dir = new TempConfigDir();
        dir.Write("only.yaml", Yaml.TcpMapping("only", Ports.Free(), gateway.Upstream));

        var dry = Ogw(env, "apply", "-f", System.IO.Path.Join(dir.Path, "only.yaml"), "--dry-run");

        Succeeds(dry);
        Assert.Matches(@"TCPMapping\s+default/only\s+Accepted", dry.Output);
        Assert.Contains("Dry run: nothing changed in tenant 'dry-flow'", dry.Output);
        Assert.Contains("No resources.", Ogw(env, "get").Output);
    }

    [Fact]
    public void The_admin_key_acts_on_a_tenant_named_by_option_or_environment_and_needs_one()
    {
        TenantWithKey("admin-acts");

        var named = Ogw(Admin, "get", "--tenant", "admin-acts");
        Succeeds(named);
        Assert.Contains("No resources.", named.Output);
        Succeeds(Ogw(new Dictionary<string, string>(Admin) { ["OGW_TENANT"] = "admin-acts" }, "status"));

        var unnamed = Ogw(Admin, "get");
        Assert.Equal(2, unnamed.Exit);
        Assert.Contains("--tenant", unnamed.Error);
    }

    [Fact]
    public void A_bad_token_exits_3_without_printing_it_and_a_tenant_key_on_another_tenant_names_its_tenant()
    {
        const string Wrong = "ogw.nobody.00000000.bm90LWEtcmVhbC1zZWNyZXQ";
        var refused = Ogw(As(Wrong), "whoami");
        Assert.Equal(3, refused.Exit);
        Assert.Contains("--token or OGW_TOKEN", refused.Error);
        Assert.DoesNotContain("bm90LWEtcmVhbC1zZWNyZXQ", refused.Output + refused.Error);

        var token = TenantWithKey("key-owner");
        TenantWithKey("someone-else");
        var forbidden = Ogw(As(token), "get", "--tenant", "someone-else");
        Assert.Equal(3, forbidden.Exit);
        Assert.Contains("tenant 'key-owner'", forbidden.Error);
        Assert.DoesNotContain(token.Split('.')[3], forbidden.Output + forbidden.Error);

        Assert.Equal(3, Ogw(As(token), "tenants", "list").Exit);
    }

    [Fact]
    public void An_unreachable_server_exits_4_and_names_the_URL()
    {
        var closed = $"http://127.0.0.1:{Ports.Free()}/";

        var result = Ogw(new Dictionary<string, string>(), "whoami", "--server", closed, "--token", "x");

        Assert.Equal(4, result.Exit);
        Assert.Contains(closed, result.Error);
        Assert.Contains("--server or OGW_SERVER", result.Error);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("delete", "TCPMapping")]
    [InlineData("apply")]
    [InlineData("get", "-o", "xml")]
    [InlineData("tenants", "create")]
    [InlineData("tenants", "create", "x", "--max-listeners", "many")]
    [InlineData("whoami", "--server", "ftp://example.com")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var result = Ogw(new Dictionary<string, string>(), args);

        Assert.True(result.Exit == 2, result.ToString());
        Assert.NotEmpty(result.Error);
    }

    [Fact]
    public void An_unreadable_apply_path_exits_1_before_any_request()
    {
        var result = Ogw(new Dictionary<string, string> { ["OGW_SERVER"] = $"http://127.0.0.1:{Ports.Free()}" }, "apply", "-f", "/no/such/dir");

        Assert.Equal(1, result.Exit);
        Assert.Contains("'/no/such/dir' does not exist", result.Error);
    }
}
