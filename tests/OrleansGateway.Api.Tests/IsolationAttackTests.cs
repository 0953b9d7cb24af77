using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// Issue 12's egress and ingress attacks, each played by a tenant key holder through the real management API and real
/// sockets (docs/security.md, "Tenant isolation"): upstreams inside the gateway or outside the tenant's quota, names
/// that resolve inside, listeners on the gateway's own ports or on another tenant's address, and a tenant nobody granted
/// anything. Each attack is refused when applying (422 naming the rule, never another tenant), or, for what only
/// resolution tells, closed at connect before any byte reaches the target.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class IsolationAttackTests(ApiGateway gateway)
{
    [Fact]
    public async Task A_tenant_created_without_a_quota_can_bind_claim_and_reach_nothing()
    {
        await using var upstream = new EchoUpstream();
        var (created, tenant) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey,
            ApiGateway.JsonBody(new { name = "no-quota" }));
        Assert.Equal(HttpStatusCode.Created, created);
        var quota = tenant.GetProperty("quota");
        foreach (var list in new[] { "allowedPorts", "allowedUpstreams", "allowedHosts" })
        {
            Assert.Equal(JsonValueKind.Array, quota.GetProperty(list).ValueKind);
            Assert.Empty(quota.GetProperty(list).EnumerateArray());
        }

        var token = await gateway.IssueKeyAsync("no-quota");
        var port = Ports.Free();
        var (status, problem) = await ApplyAsync("no-quota", token, Yaml.TcpMapping("db", port, $"127.0.0.1:{upstream.Port}"));

        Assert.Equal((HttpStatusCode)422, status);
        Assert.Contains("quota AllowedPorts", problem.ToString());
        Assert.Null(await EchoUpstream.TryEchoAsync(port, "anyone?"));
        Assert.Equal(0, upstream.Connections);

        // {"quota": {}} grants nothing either: each list is absent.
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Put, "/api/v1/tenants/no-quota", ApiGateway.AdminKey,
            ApiGateway.JsonBody(new { quota = new { allowedPorts = new[] { $"{port}" } } }))).Status);
        (status, problem) = await ApplyAsync("no-quota", token, Yaml.TcpMapping("db", port, $"127.0.0.1:{upstream.Port}"));
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Contains("quota AllowedUpstreams", problem.ToString());
        Assert.Contains(Codes(problem), c => c == "quota.upstreams");
    }

    [Fact]
    public async Task Upstreams_inside_the_gateway_or_outside_the_quota_are_refused_when_applying()
    {
        await using var upstream = new EchoUpstream();
        var port = Ports.Free();
        var token = await TenantAsync("egress-wide", port, upstreams: ["0.0.0.0/0", "::/0"]);

        // 0.0.0.0/0 is every address but loopback; the built-in deny list holds whatever the quota says.
        foreach (var (service, code, says) in new[]
        {
            ($"127.0.0.1:{upstream.Port}", "quota.upstreams", "loopback needs a range inside 127.0.0.0/8"),
            ($"127.0.0.2:{upstream.Port}", "quota.upstreams", "quota AllowedUpstreams"),
            ("0.0.0.0:22", "quota.upstreams", "quota AllowedUpstreams"),
            ("169.254.169.254:80", "upstream.forbidden", "metadata"),
            ("168.63.129.16:80", "upstream.forbidden", "WireServer"),
            ("169.254.10.1:80", "upstream.forbidden", "link-local"),
        })
        {
            var (status, problem) = await ApplyAsync("egress-wide", token, Yaml.TcpMapping("out", port, service));
            Assert.True(status == (HttpStatusCode)422, $"{service}: {status} {problem}");
            Assert.Contains(code, Codes(problem));
            Assert.Contains(says, problem.ToString());
        }

        // Loopback granted explicitly: still never the gateway itself (its API, silo, Orleans gateway, or any listener).
        var loopback = await TenantAsync("egress-loopback", port: null, upstreams: ["127.0.0.0/8"]);
        var own = Ports.Free();
        foreach (var target in new[] { gateway.ApiPort, gateway.SiloPort, gateway.OrleansGatewayPort, gateway.ConfigPort, own })
        {
            var (status, problem) = await ApplyAsync("egress-loopback", loopback,
                Yaml.TcpMapping("in", own, $"127.0.0.1:{target}"));
            Assert.True(status == (HttpStatusCode)422, $"port {target}: {status} {problem}");
            Assert.Contains("upstream.forbidden", Codes(problem));
            Assert.Contains("gateway itself", problem.ToString());
            Assert.DoesNotContain(ApiGateway.ConfigTenant, problem.ToString());
        }

        Assert.Null(await EchoUpstream.TryEchoAsync(own, "loop"));
        var (applied, outcome) = await ApplyAsync("egress-loopback", loopback, Yaml.TcpMapping("in", own, $"127.0.0.1:{upstream.Port}"));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());
        Assert.True(await Eventually.TrueAsync(async () => await EchoUpstream.TryEchoAsync(own, "ok") == "ok", TimeSpan.FromSeconds(15)),
            "the allowed upstream was never served");
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_closed_at_connect_before_any_byte_reaches_it()
    {
        await using var upstream = new EchoUpstream(greeting: "reached");
        var port = Ports.Free();

        // The glob admits the name when applying; at connect every address must lie in a range, and 0.0.0.0/0 and ::/0
        // hold no loopback address.
        var token = await TenantAsync("dns-rebind", port, upstreams: ["localhost", "0.0.0.0/0", "::/0"]);
        var (applied, outcome) = await ApplyAsync("dns-rebind", token, Yaml.TcpMapping("by-name", port, $"localhost:{upstream.Port}"));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());

        await AssertClosedWithoutReachingAsync(port, upstream, "by-name", "dns-rebind");
    }

    [Fact]
    public async Task A_name_that_resolves_to_the_api_port_is_closed_at_connect_even_with_loopback_granted()
    {
        var port = Ports.Free();
        var token = await TenantAsync("dns-api", port, upstreams: ["localhost", "127.0.0.0/8", "::1"]);
        var (applied, outcome) = await ApplyAsync("dns-api", token, Yaml.TcpMapping("to-api", port, $"localhost:{gateway.ApiPort}"));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());

        // Served once the listener answers; the API must never answer through it.
        string? answer = null;
        Assert.True(await Eventually.TrueAsync(async () => (answer = await HttpThroughAsync(port)) is not null, TimeSpan.FromSeconds(15)),
            "the listener was never bound");
        Assert.DoesNotContain("HTTP/", answer, StringComparison.Ordinal);
        await Eventually.Until(() => gateway.Log.Any(l => l.Contains("default/to-api") && l.Contains("gateway itself")),
            "the refusal was not logged", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Listeners_on_the_gateways_own_ports_are_refused()
    {
        var token = await TenantAsync("own-ports", port: null, upstreams: ["127.0.0.0/8"]);
        foreach (var port in new[] { gateway.ApiPort, gateway.SiloPort, gateway.OrleansGatewayPort })
        {
            var (status, problem) = await ApplyAsync("own-ports", token, Yaml.TcpMapping("squat", port, "127.0.0.1:9"));
            Assert.True(status == (HttpStatusCode)422, $"port {port}: {status} {problem}");
            Assert.Contains("port.reserved", Codes(problem));
            Assert.Contains($"port {port} is reserved for the gateway itself", problem.ToString());
        }
    }

    [Theory]
    [InlineData("127.0.0.1", "0.0.0.0")]
    [InlineData("0.0.0.0", "127.0.0.1")]
    [InlineData("127.0.0.1", "::ffff:127.0.0.1")]
    [InlineData("127.0.0.1", "::")]
    public async Task Another_tenants_overlapping_listen_address_on_the_same_port_is_refused_whatever_the_order(string first, string second)
    {
        await using var upstreamA = new EchoUpstream(greeting: "a");
        await using var upstreamB = new EchoUpstream(greeting: "b");
        var port = Ports.Free();
        var suffix = $"{port}";
        var tokenA = await TenantAsync($"addr-a-{suffix}", port, upstreams: ["127.0.0.0/8"]);
        var tokenB = await TenantAsync($"addr-b-{suffix}", port, upstreams: ["127.0.0.0/8"]);

        var (applied, outcome) = await ApplyAsync($"addr-a-{suffix}", tokenA,
            Yaml.TcpMapping("first", port, $"127.0.0.1:{upstreamA.Port}", $"  address: \"{first}\""));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());
        Assert.True(await Eventually.TrueAsync(async () => await EchoUpstream.TryEchoAsync(port, "x") == "ax", TimeSpan.FromSeconds(15)),
            "the first tenant's listener was never served");

        var before = await gateway.SnapshotAsync($"addr-b-{suffix}");
        var (status, problem) = await ApplyAsync($"addr-b-{suffix}", tokenB,
            Yaml.TcpMapping("second", port, $"127.0.0.1:{upstreamB.Port}", $"  address: \"{second}\""));

        Assert.True(status == (HttpStatusCode)422, $"{status} {problem}");
        Assert.Contains("listener.claim-refused", Codes(problem));
        Assert.DoesNotContain($"addr-a-{suffix}", problem.ToString());
        Assert.DoesNotContain($"{upstreamA.Port}", problem.ToString());
        Assert.Equal(before, await gateway.SnapshotAsync($"addr-b-{suffix}"));
        Assert.Equal("ax", await EchoUpstream.TryEchoAsync(port, "x"));
        Assert.Equal(0, upstreamB.Connections);
    }

    [Fact]
    public async Task Host_names_outside_allowed_hosts_are_refused_in_every_resource_that_claims_one()
    {
        var port = Ports.Free();
        var token = await TenantAsync("hosts-b", port, upstreams: ["127.0.0.0/8"], hosts: ["*.b.test"]);

        foreach (var (yaml, says) in new[]
        {
            (Yaml.TcpMapping("m", port, "127.0.0.1:9", "  host: shop.a.test"), "host shop.a.test"),
            (Yaml.TcpMapping("m", port, "127.0.0.1:9", "  host: \"*.test\""), "host *.test"),
            (Yaml.TcpMapping("m", port, "127.0.0.1:9", "  host: \"*\""), "host *"),
            ("""
             apiVersion: getambassador.io/v3alpha1
             kind: TLSContext
             metadata: { name: ctx }
             spec: { hosts: [ok.b.test, bank.a.test], secret: none }
             """, "host bank.a.test"),
            ("""
             apiVersion: getambassador.io/v3alpha1
             kind: Host
             metadata: { name: h }
             spec: { hostname: "B.TEST." }
             """, "host b.test"),
        })
        {
            var (status, problem) = await ApplyAsync("hosts-b", token, yaml);
            Assert.True(status == (HttpStatusCode)422, $"{says}: {status} {problem}");
            Assert.Contains("quota.hosts", Codes(problem));
            Assert.Contains(says, problem.ToString());
            Assert.Contains("quota AllowedHosts", problem.ToString());
        }
    }

    /// <summary>Connects, sends a byte and reads to the end: the gateway must close without the upstream's greeting, and the upstream must never see a connection.</summary>
    private async Task AssertClosedWithoutReachingAsync(int port, EchoUpstream upstream, string mapping, string tenant)
    {
        string? seen = null;
        Assert.True(await Eventually.TrueAsync(async () => (seen = await ReadThroughAsync(port)) is not null, TimeSpan.FromSeconds(15)),
            "the listener was never bound");
        Assert.Equal("", seen);
        await Eventually.Until(() => gateway.Log.Any(l => l.Contains($"default/{mapping}") && l.Contains($"tenant {tenant}") && l.Contains("quota AllowedUpstreams")),
            "the refusal was not logged", TimeSpan.FromSeconds(10));
        Assert.Contains(gateway.Log, l => l.Contains($"mapping=default/{mapping}") && l.Contains("reason=UpstreamForbidden"));
        Assert.Equal(0, upstream.Connections);
    }

    private async Task<string> TenantAsync(string name, int? port, string[] upstreams, string[]? hosts = null)
    {
        var quota = new
        {
            allowedPorts = port is { } p ? new[] { $"{p}" } : null,
            allowedUpstreams = upstreams,
            allowedHosts = hosts ?? ["*"],
        };
        var (created, body) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey, ApiGateway.JsonBody(new { name, quota }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        return await gateway.IssueKeyAsync(name);
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> ApplyAsync(string tenant, string token, string yaml) =>
        gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/resources", token, ApiGateway.YamlBody(yaml));

    private static List<string> Codes(JsonElement problem) =>
        problem.TryGetProperty("diagnostics", out var diagnostics)
            ? [.. diagnostics.EnumerateArray().Select(d => d.GetProperty("code").GetString()!)]
            : [];

    /// <summary>What came back through <paramref name="port"/> after one byte and a half-close; null when nothing listens.</summary>
    private static async Task<string?> ReadThroughAsync(int port) => await ExchangeAsync(port, "x"u8.ToArray());

    private static async Task<string?> HttpThroughAsync(int port) =>
        await ExchangeAsync(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"u8.ToArray());

    private static async Task<string?> ExchangeAsync(int port, byte[] request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        }
        catch (SocketException)
        {
            return null;
        }

        try
        {
            var stream = client.GetStream();
            await stream.WriteAsync(request, timeout.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(timeout.Token);
        }
        catch (IOException)
        {
            return ""; // reset: nothing was answered either
        }
    }
}
