using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, row 6 (automatic listeners): TLS-inspecting when ANY mapping on the port has a host,
/// whatever the order.
/// </summary>
public sealed class AutoListenerTests
{
    private static readonly Resource[] Certificates = [Res.Ctx("ctx", "cert", ["db.example.com"]), Res.TlsSecret("cert")];

    [Theory]
    [InlineData("a-clear", "b-tls")]
    [InlineData("b-clear", "a-tls")]
    public void Host_anywhere_on_the_port_makes_it_inspect_TLS(string clearName, string tlsName)
    {
        var clear = Res.Tcp(clearName, 9001, "raw:22");
        var tls = Res.Tcp(tlsName, 9001, "db:5432", host: "db.example.com");

        var result = Res.Compile([clear, tls, .. Certificates]);

        var l = result.Listener(9001);
        Assert.True(l.TlsInspected);
        Assert.Equal("listener-0.0.0.0-9001", l.Name);
        Assert.Null(l.Source);
        Assert.Equal("ingress_tls_9001", l.StatsPrefix);
        Assert.Equal("db.example.com", Assert.Single(l.SniRoutes).Host.Text);
        Assert.Equal([clear.Ref], l.CatchAll!.Upstreams.Select(u => u.Mapping));
    }

    [Fact]
    public void Cleartext_port_has_only_a_catch_all()
    {
        var m = Res.Tcp("ssh", 2222, "upstream:22");

        var l = Res.Compile(m).Listener(2222);

        Assert.False(l.TlsInspected);
        Assert.Equal("ingress_tcp_2222", l.StatsPrefix);
        Assert.Empty(l.SniRoutes);
        Assert.Equal("GROUP: ssh", l.CatchAll!.Name);
        Assert.Equal(new[] { m.Ref }, l.Resources.ToArray());
    }

    [Fact]
    public void Discarded_host_mapping_does_not_make_the_port_inspect_TLS()
    {
        var clear = Res.Tcp("clear", 9001, "raw:22");
        var noCert = Res.Tcp("nocert", 9001, "db:5432", host: "unknown.example.com");

        var result = Res.Compile(clear, noCert);

        result.AssertDiscarded(noCert, "no Host or TLSContext provides a certificate");
        Assert.False(result.Listener(9001).TlsInspected);
    }

    [Fact]
    public void Unset_bind_address_comes_from_the_options()
    {
        var m = Res.Tcp("m", 2222, "up");
        var explicitSame = Res.Tcp("n", 2222, "up2") with { Address = "0:0::0" };

        var result = Res.Compile(new CompileOptions(BindAddress: "[::]"), m, explicitSame);

        var l = Assert.Single(result.Plan.Listeners);
        Assert.Equal(new ListenerEndpoint("::", 2222), l.Endpoint);
        Assert.Equal("[::]:2222", l.Endpoint.ToString());
        Assert.Equal(2, l.CatchAll!.Upstreams.Length);
    }

    [Fact]
    public void Bad_address_discards()
    {
        var m = Res.Tcp("m", 2222, "up") with { Address = "localhost" };

        Res.Compile(m).AssertDiscarded(m, "address 'localhost' is not an IP address");
    }

    [Fact]
    public void Listeners_and_sni_routes_are_sorted()
    {
        var hosts = new[] { "*", "*.example.com", "b.example.com", "*.a.example.com", "a.example.com" };
        var mappings = hosts.Select((h, i) => Res.Tcp("m" + i, 443, "up" + i, host: h)).ToList<Resource>();
        mappings.Add(Res.Tcp("x", 80, "up") with { Address = "127.0.0.1" });
        mappings.Add(Res.Tcp("y", 22, "up"));
        mappings.Add(Res.Host("any", "*", "cert"));
        mappings.Add(Res.TlsSecret("cert"));

        var result = Res.Compile([.. mappings]);

        Assert.Equal(["0.0.0.0:22", "0.0.0.0:443", "127.0.0.1:80"], result.Plan.Listeners.Select(l => l.Endpoint.ToString()));
        Assert.Equal(["a.example.com", "b.example.com", "*.a.example.com", "*.example.com", "*"], result.Listener(443).SniRoutes.Select(r => r.Host.Text));
        Assert.Equal([HostPatternKind.Exact, HostPatternKind.Exact, HostPatternKind.Wildcard, HostPatternKind.Wildcard, HostPatternKind.Any],
            result.Listener(443).SniRoutes.Select(r => r.Host.Kind));
    }
}
