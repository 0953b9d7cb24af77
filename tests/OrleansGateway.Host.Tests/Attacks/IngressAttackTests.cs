using System.Net;

namespace OrleansGateway.Host.Tests.Attacks;

/// <summary>
/// Tenant B tries to take what tenant A or the gateway listens on (docs/security.md, "Ingress"): the gateway's own
/// ports, A's port on an overlapping listen address, A's SNI names in other spellings, names outside its own
/// <c>allowedHosts</c>. Each is 422 naming the rule and never tenant A, B's state is unchanged, A's clients keep
/// reaching A, and B's server never sees a connection.
/// </summary>
[Collection(AttackCollection.Name)]
public sealed class IngressAttackTests(AttackedGateway gateway)
{
    public static TheoryData<string> GatewayPorts => new()
    {
        "core API port", "edge API port", "core silo port", "core Orleans gateway port", "edge silo port", "edge Orleans gateway port",
    };

    [Theory]
    [MemberData(nameof(GatewayPorts))]
    public async Task A_listener_on_a_gateway_port_is_refused_on_every_process(string which)
    {
        var port = which switch
        {
            "core API port" => gateway.CoreApiPort,
            "edge API port" => gateway.EdgeApiPort,
            "core silo port" => gateway.CoreSiloPort,
            "core Orleans gateway port" => gateway.CoreOrleansGatewayPort,
            "edge silo port" => gateway.EdgeSiloPort,
            _ => gateway.EdgeOrleansGatewayPort,
        };
        var tenant = $"squat-{port}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"]);
        var before = await gateway.SnapshotAsync(tenant);

        foreach (var address in new[] { null, "0.0.0.0", "::" })
        {
            var (status, problem) = await gateway.ApplyAsync(tenant, token, Yaml.TcpMapping("squat", port, "127.0.0.1:9", address: address));
            Assert.True(status == (HttpStatusCode)422, $"{which} on {address ?? "the default address"}: {status} {problem}");
            Assert.Contains("port.reserved", AttackedGateway.Codes(problem));
            Assert.Contains($"port {port} is reserved for the gateway itself", problem.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
    }

    [Theory]
    [InlineData("127.0.0.1", "0.0.0.0")]
    [InlineData("0.0.0.0", "127.0.0.1")]
    [InlineData("127.0.0.1", "::ffff:127.0.0.1")]
    [InlineData("127.0.0.1", "::")]
    public async Task Another_tenants_overlapping_listen_address_on_the_same_port_is_refused_whatever_the_order(string first, string second)
    {
        await using var serverA = new RecordingUpstream(greeting: "a");
        await using var serverB = new RecordingUpstream(greeting: "b");
        var port = Ports.Free();
        var tokenA = await gateway.AttackerAsync($"addr-a-{port}", ["127.0.0.0/8"], ports: port);
        var tokenB = await gateway.AttackerAsync($"addr-b-{port}", ["127.0.0.0/8"], ports: port);

        var (applied, outcome) = await gateway.ApplyAsync($"addr-a-{port}", tokenA, Yaml.TcpMapping("first", port, $"127.0.0.1:{serverA.Port}", address: first));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "x") == "ax", "tenant A's listener on the edge");

        var before = await gateway.SnapshotAsync($"addr-b-{port}");
        var (status, problem) = await gateway.ApplyAsync($"addr-b-{port}", tokenB, Yaml.TcpMapping("second", port, $"127.0.0.1:{serverB.Port}", address: second));

        Assert.True(status == (HttpStatusCode)422, $"{status} {problem}");
        Assert.Contains("listener.claim-refused", AttackedGateway.Codes(problem));
        Assert.DoesNotContain($"addr-a-{port}", problem.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain($"{serverA.Port}", problem.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync($"addr-b-{port}"));
        Assert.Equal("ax", await Traffic.TryEchoAsync(port, "x"));
        Assert.Equal(0, serverB.Connections);
    }

    /// <summary>Tenant A routes <c>*.a.test</c> and <c>*.bücher.test</c>; B writes them otherwise, or an exact name under A's glob.</summary>
    [Theory]
    [InlineData("*.a.test.")]
    [InlineData("*.A.TEST")]
    [InlineData("shop.a.test.")]
    [InlineData("SHOP.A.TEST")]
    [InlineData("*.xn--bcher-kva.test")]
    [InlineData("*.XN--BCHER-KVA.test.")]
    [InlineData("shop.bücher.test")]
    public async Task Another_spelling_of_a_routed_name_is_refused_and_clients_keep_reaching_its_owner(string spelling)
    {
        await using var server = new RecordingUpstream(greeting: "upstream-b");
        using var certificate = TestCertificates.SelfSigned("b.test");
        var tenant = $"spell-{Ports.Free()}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ports: gateway.VictimTlsPort);
        var before = await gateway.SnapshotAsync(tenant);

        var (status, problem) = await gateway.ApplyAsync(tenant, token, string.Join('\n',
            Yaml.TlsSecret("cert-b", certificate),
            Yaml.Host("host-b", spelling, "cert-b"),
            Yaml.TcpMapping("route-b", gateway.VictimTlsPort, $"127.0.0.1:{server.Port}", host: $"\"{spelling}\"")));

        Assert.True(status == (HttpStatusCode)422, $"{spelling}: {status} {problem}");
        var text = problem.ToString();
        Assert.Contains("overlaps a name another tenant already routes", text, StringComparison.Ordinal);
        foreach (var secret in new[] { AttackedGateway.Victim, "route-a", "host-a", $"{gateway.VictimUpstream.Port}" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
        foreach (var sni in new[] { "shop.a.test", "SHOP.A.TEST.", "x.y.a.test", "shop.xn--bcher-kva.test" })
        {
            var result = await gateway.VictimHandshakeAsync(sni);
            Assert.True(result is not null, $"a client of {sni} was refused");
            Assert.Equal(gateway.VictimCertificate.Thumbprint, result.Value.Certificate.Thumbprint);
            Assert.Equal("upstream-a", result.Value.Greeting);
        }

        Assert.Equal(0, server.Connections);
    }

    public static TheoryData<string, string> OutsideAllowedHosts => new()
    {
        { Yaml.TcpMapping("m", 0, "127.0.0.1:9", host: "shop.a.test"), "host shop.a.test" },
        { Yaml.TcpMapping("m", 0, "127.0.0.1:9", host: "\"*.test\""), "host *.test" },
        { Yaml.TcpMapping("m", 0, "127.0.0.1:9", host: "\"*\""), "host *" },
        { "apiVersion: getambassador.io/v3alpha1\nkind: TLSContext\nmetadata: { name: ctx }\nspec: { hosts: [ok.b.test, bank.a.test], secret: none }\n", "host bank.a.test" },
        { "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: { name: h }\nspec: { hostname: \"B.TEST.\" }\n", "host b.test" },
    };

    [Theory]
    [MemberData(nameof(OutsideAllowedHosts))]
    public async Task A_name_outside_allowed_hosts_is_refused_in_every_resource_that_claims_one(string yaml, string says)
    {
        var port = Ports.Free();
        var tenant = $"hosts-{port}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ["*.b.test"], port);
        var before = await gateway.SnapshotAsync(tenant);

        var (status, problem) = await gateway.ApplyAsync(tenant, token, yaml.Replace("port: 0", $"port: {port}", StringComparison.Ordinal));

        Assert.True(status == (HttpStatusCode)422, $"{says}: {status} {problem}");
        Assert.Contains("quota.hosts", AttackedGateway.Codes(problem));
        Assert.Contains(says, problem.ToString(), StringComparison.Ordinal);
        Assert.Contains("quota AllowedHosts", problem.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
    }
}
