using System.Net;

namespace OrleansGateway.Host.Tests.Attacks;

/// <summary>
/// Tenant B points upstreams at what it must not reach (docs/security.md, "Egress"): loopback, cloud metadata and
/// WireServer, link-local, every endpoint of either gateway process, tenant A's listener and its own (loops). An
/// address literal is refused when applying (422 naming the rule, never tenant A) and nothing listens on B's port; a name
/// that resolves inside is accepted and closed at connect by the edge (UpstreamForbidden) before any byte reaches the
/// target. Where the target is a server the test owns, it records that no connection and no byte arrived.
/// </summary>
[Collection(AttackCollection.Name)]
public sealed class EgressAttackTests(AttackedGateway gateway)
{
    /// <summary>Targets B tries as an IP literal with 0.0.0.0/0 and ::/0 granted (every address but loopback): (target, code, what the diagnostic says).</summary>
    public static TheoryData<string, string, string> OutsideTheQuota => new()
    {
        { "loopback", "quota.upstreams", "loopback needs a range inside 127.0.0.0/8" },
        { "another loopback address", "quota.upstreams", "quota AllowedUpstreams" },
        { "0.0.0.0", "quota.upstreams", "quota AllowedUpstreams" },
        { "169.254.169.254:80", "upstream.forbidden", "metadata" },
        { "168.63.129.16:80", "upstream.forbidden", "WireServer" },
        { "169.254.10.1:80", "upstream.forbidden", "link-local" },
        { "[fe80::1]:80", "upstream.forbidden", "link-local" },
        { "[fd00:ec2::254]:80", "upstream.forbidden", "metadata" },
    };

    [Theory]
    [MemberData(nameof(OutsideTheQuota))]
    public async Task An_upstream_outside_the_quota_or_on_the_deny_list_is_refused_when_applying(string target, string code, string says)
    {
        await using var server = new RecordingUpstream();
        var service = target switch
        {
            "loopback" => $"127.0.0.1:{server.Port}",
            "another loopback address" => $"127.0.0.2:{server.Port}",
            "0.0.0.0" => $"0.0.0.0:{server.Port}",
            _ => target,
        };
        var port = Ports.Free();
        var tenant = $"egress-{port}";
        var token = await gateway.AttackerAsync(tenant, ["0.0.0.0/0", "::/0"], ports: port);

        await AssertRefusedAsync(tenant, token, port, service, code, says);
        Assert.Equal(0, server.Connections);
    }

    /// <summary>The gateway's own endpoints, tried by a tenant granted all of loopback.</summary>
    public static TheoryData<string> GatewayEndpoints => new()
    {
        "core API port", "edge API port", "core silo port", "core Orleans gateway port", "edge silo port", "edge Orleans gateway port",
        "tenant A's listener", "its own listener",
    };

    [Theory]
    [MemberData(nameof(GatewayEndpoints))]
    public async Task An_upstream_on_a_gateway_endpoint_is_refused_when_applying_even_with_loopback_granted(string endpoint)
    {
        var port = Ports.Free();
        var target = Endpoint(endpoint, port);
        var tenant = $"inside-{port}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ports: port);
        var victimConnections = gateway.VictimUpstream.Connections;

        await AssertRefusedAsync(tenant, token, port, $"127.0.0.1:{target}", "upstream.forbidden", "gateway itself");
        Assert.Equal(victimConnections, gateway.VictimUpstream.Connections);
    }

    [Fact]
    public async Task Loopback_granted_explicitly_reaches_the_tenants_own_server()
    {
        // The control of the refusals above: the same tenant and rules, an upstream the quota grants and the gateway does not own.
        await using var server = new RecordingUpstream(greeting: "own-");
        var port = Ports.Free();
        var token = await gateway.AttackerAsync($"granted-{port}", ["127.0.0.0/8"], ports: port);

        await AssertAcceptedAsync($"granted-{port}", token, Yaml.TcpMapping("own", port, $"127.0.0.1:{server.Port}"));

        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "ok") == "own-ok", "the granted upstream through the edge");
        Assert.True(server.Bytes >= 2, $"{server.Bytes} bytes reached the granted server");
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_closed_at_connect_before_any_byte_reaches_the_server()
    {
        await using var server = new RecordingUpstream(greeting: "reached");
        var port = Ports.Free();

        // The glob admits the name when applying; at connect every address must lie in a range, and 0.0.0.0/0 and ::/0
        // hold no loopback address.
        var token = await gateway.AttackerAsync("dns-rebind", ["localhost", "0.0.0.0/0", "::/0"], ports: port);
        await AssertAcceptedAsync("dns-rebind", token, Yaml.TcpMapping("by-name", port, $"localhost:{server.Port}"));

        await AssertClosedAtConnectAsync(port, "by-name", "dns-rebind", "quota AllowedUpstreams");
        Assert.Equal(0, server.Connections);
        Assert.Equal(0, server.Bytes);
    }

    [Fact]
    public async Task Loopback_taken_away_by_the_admin_closes_the_tenants_next_connection_at_the_edge()
    {
        // The tenant applies nothing again: the admin's quota change is a change of this tenant's directory entry alone,
        // which the edge process learns from the directory's changes since its version and enforces at the next connect.
        await using var server = new RecordingUpstream(greeting: "own-");
        var port = Ports.Free();
        var tenant = $"tightened-{port}";
        var token = await gateway.AttackerAsync(tenant, ["localhost", "127.0.0.0/8"], ports: port);
        await AssertAcceptedAsync(tenant, token, Yaml.TcpMapping("by-name", port, $"localhost:{server.Port}"));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "ok") == "own-ok", "the granted upstream through the edge");

        var (status, body) = await gateway.CallAsync(HttpMethod.Put, $"/api/v1/tenants/{tenant}", AttackedGateway.AdminKey, AttackedGateway.JsonBody(new
        {
            quota = new { allowedPorts = new[] { $"{port}" }, allowedUpstreams = new[] { "localhost", "0.0.0.0/0", "::/0" }, allowedHosts = new[] { "*" } },
        }));
        Assert.True(status == HttpStatusCode.OK, body.ToString());

        // Connections before the edge has the change still reach the server; from then on, none does.
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "x") is null or "", "the edge to close the tenant's connection at connect");
        await AssertClosedAtConnectAsync(port, "by-name", tenant, "quota AllowedUpstreams");
        var reached = server.Connections;
        Assert.Equal("", await AttackedGateway.ExchangeAsync(port, "x"));
        Assert.Equal(reached, server.Connections);
    }

    [Theory]
    [InlineData("core Orleans gateway port")]
    [InlineData("core API port")]
    [InlineData("tenant A's listener")]
    public async Task A_name_that_resolves_to_a_gateway_endpoint_is_closed_at_connect_even_with_loopback_granted(string endpoint)
    {
        var port = Ports.Free();
        var tenant = $"dns-{port}";
        var token = await gateway.AttackerAsync(tenant, ["localhost", "127.0.0.0/8", "::1"], ports: port);
        var victimConnections = gateway.VictimUpstream.Connections;
        await AssertAcceptedAsync(tenant, token, Yaml.TcpMapping("by-name", port, $"localhost:{Endpoint(endpoint, port)}"));

        await AssertClosedAtConnectAsync(port, "by-name", tenant, "gateway itself");
        Assert.Equal(victimConnections, gateway.VictimUpstream.Connections);
    }

    [Fact]
    public async Task An_unlimited_tenant_still_reaches_no_gateway_endpoint()
    {
        // Unlimited is what an admin says explicitly: null for every field.
        int literalPort = Ports.Free(), namedPort = Ports.Free();
        var token = await gateway.CreateTenantAsync("unlimited", new
        {
            allowedPorts = (string[]?)null, allowedUpstreams = (string[]?)null, allowedHosts = (string[]?)null,
        });

        await AssertRefusedAsync("unlimited", token, literalPort, $"127.0.0.1:{gateway.CoreApiPort}", "upstream.forbidden", "gateway itself");
        await AssertAcceptedAsync("unlimited", token, Yaml.TcpMapping("to-api", namedPort, $"localhost:{gateway.EdgeApiPort}"));

        // The API never answers through the listener.
        string? answer = null;
        await Eventually.Until(async () => (answer = await AttackedGateway.ExchangeAsync(namedPort, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) is not null,
            "the named mapping's listener on the edge");
        Assert.DoesNotContain("HTTP/", answer, StringComparison.Ordinal);
        await Eventually.Until(() => gateway.Edge.Output.Contains("Mapping default/to-api of tenant unlimited targets", StringComparison.Ordinal),
            "the edge's warning naming the refused mapping");
    }

    private int Endpoint(string name, int own) => name switch
    {
        "core API port" => gateway.CoreApiPort,
        "edge API port" => gateway.EdgeApiPort,
        "core silo port" => gateway.CoreSiloPort,
        "core Orleans gateway port" => gateway.CoreOrleansGatewayPort,
        "edge silo port" => gateway.EdgeSiloPort,
        "edge Orleans gateway port" => gateway.EdgeOrleansGatewayPort,
        "tenant A's listener" => gateway.VictimPort,
        "its own listener" => own,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>The mapping is 422 with <paramref name="code"/>, says <paramref name="says"/>, names neither tenant A nor its port, stores nothing, and nothing listens on <paramref name="port"/>.</summary>
    private async Task AssertRefusedAsync(string tenant, string token, int port, string service, string code, string says)
    {
        var before = await gateway.SnapshotAsync(tenant);
        var (status, problem) = await gateway.ApplyAsync(tenant, token, Yaml.TcpMapping("out", port, $"\"{service}\""));

        Assert.True(status == (HttpStatusCode)422, $"{service}: {status} {problem}");
        Assert.Contains(code, AttackedGateway.Codes(problem));
        Assert.Contains(says, problem.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(AttackedGateway.Victim, problem.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
        Assert.Null(await AttackedGateway.ExchangeAsync(port, "x"));
    }

    private async Task AssertAcceptedAsync(string tenant, string token, string yaml)
    {
        var (status, outcome) = await gateway.ApplyAsync(tenant, token, yaml);
        Assert.True(status == HttpStatusCode.OK, outcome.ToString());
    }

    /// <summary>
    /// Once the edge listens on <paramref name="port"/>, a client's byte gets nothing back; the edge names the refused
    /// mapping in its warning and counts the refusal (<c>UpstreamForbidden</c> on /metrics).
    /// </summary>
    private async Task AssertClosedAtConnectAsync(int port, string mapping, string tenant, string why)
    {
        var refusedBefore = await gateway.ForbiddenConnectsAsync();
        string? seen = null;
        await Eventually.Until(async () => (seen = await AttackedGateway.ExchangeAsync(port, "x")) is not null, "the mapping's listener on the edge");
        Assert.Equal("", seen);
        await Eventually.Until(
            () => gateway.Edge.Output.Split('\n').Any(l => l.Contains($"Mapping default/{mapping} of tenant {tenant} targets", StringComparison.Ordinal) && l.Contains(why, StringComparison.Ordinal)),
            "the edge's warning naming the refused mapping");
        await Eventually.Until(async () => await gateway.ForbiddenConnectsAsync() > refusedBefore, "the edge's UpstreamForbidden count to grow");
    }
}
