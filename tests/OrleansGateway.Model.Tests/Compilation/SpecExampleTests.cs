using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>The four YAML examples of Emissary's TCPMapping documentation (examples/spec/), written as records.</summary>
public sealed class SpecExampleTests
{
    private static readonly TlsContextResource MyContext = Res.Ctx("my-context", "supersecret", ["my-host-1", "my-host-2"]);
    private static readonly TlsContextResource OriginationContext = Res.Ctx("origination-context", "othersecret");
    private static readonly Resource[] Secrets = [Res.TlsSecret("supersecret"), Res.TlsSecret("othersecret")];

    [Fact]
    public void Neither_terminating_nor_originating()
    {
        var ssh = Res.Tcp("ssh", 2222, "upstream:22");
        var cockroach = Res.Tcp("cockroach", 26257, "cockroach:26257");

        var result = Res.Compile(ssh, cockroach);

        Assert.All(result.Statuses, s => Assert.Equal(ResourceState.Accepted, s.State));
        Assert.Empty(result.Diagnostics);
        Assert.Equal([2222, 26257], result.Plan.Listeners.Select(l => l.Endpoint.Port));
        foreach (var (mapping, service, port) in new[] { (ssh, "upstream", 22), (cockroach, "cockroach", 26257) })
        {
            var l = result.Listener(mapping.Port);
            Assert.False(l.TlsInspected);
            Assert.Equal("0.0.0.0", l.Endpoint.Address);
            var u = Assert.Single(l.CatchAll!.Upstreams);
            Assert.Equal((service, port, 100.0), (u.Target.Host, u.Target.Port, u.Share));
            Assert.Null(u.Origination);
            Assert.Equal(mapping.Name, u.StatsName);
            Assert.Equal("default", u.Tenant);
        }
    }

    [Fact]
    public void Terminating_but_not_originating()
    {
        var m1 = Res.Tcp("my-host-1", 2222, "upstream-host-1:9999", host: "my-host-1");
        var m2 = Res.Tcp("my-host-2", 2222, "upstream-host-2:9999", host: "my-host-2");

        var result = Res.Compile([MyContext, m1, m2, .. Secrets]);

        var l = Assert.Single(result.Plan.Listeners);
        Assert.True(l.TlsInspected);
        Assert.Null(l.CatchAll); // any other SNI: the handshake fails
        Assert.Equal(["my-host-1", "my-host-2"], l.SniRoutes.Select(r => r.Host.Text));
        foreach (var (route, upstream) in l.SniRoutes.Zip(["upstream-host-1", "upstream-host-2"]))
        {
            Assert.Equal(HostPatternKind.Exact, route.Host.Kind);
            Assert.Equal(MyContext.Ref, route.Termination!.CertificateSource);
            Assert.Equal(new SecretRef("default", "supersecret"), route.Termination!.Certificate);
            var u = Assert.Single(route.Route.Upstreams);
            Assert.Equal((upstream, 9999), (u.Target.Host, u.Target.Port));
            Assert.Null(u.Origination);
        }
    }

    [Fact]
    public void Terminating_and_originating_with_and_without_client_certificate()
    {
        var t1 = Res.Tcp("test-1", 2222, "https://upstream-host-1:9999", host: "my-host-1");
        var t2 = Res.Tcp("test-2", 2222, "https://upstream-host-2:9999", host: "my-host-2") with { Tls = "origination-context" };

        var result = Res.Compile([MyContext, OriginationContext, t1, t2, .. Secrets]);

        Assert.All(result.Statuses, s => Assert.Equal(ResourceState.Accepted, s.State));
        var l = result.Listener(2222);
        Assert.True(l.TlsInspected);
        Assert.Null(l.CatchAll);
        var u1 = result.Upstream(t1);
        Assert.Equal(("upstream-host-1", 9999), (u1.Target.Host, u1.Target.Port));
        Assert.Null(u1.Origination!.ClientCertificate);
        Assert.Null(u1.Origination.Context);
        var u2 = result.Upstream(t2);
        Assert.Equal(OriginationContext.Ref, u2.Origination!.Context);
        Assert.Equal(new SecretRef("default", "othersecret"), u2.Origination.ClientCertificate);
        Assert.Contains(OriginationContext.Ref, l.Resources);
    }

    [Fact]
    public void Originating_but_not_terminating()
    {
        var test = Res.Tcp("test", 2222, "https://upstream-host:9999");

        var result = Res.Compile([OriginationContext, test, .. Secrets]);

        var l = Assert.Single(result.Plan.Listeners);
        Assert.False(l.TlsInspected);
        var u = Assert.Single(l.CatchAll!.Upstreams);
        Assert.Equal(("upstream-host", 9999), (u.Target.Host, u.Target.Port));
        Assert.NotNull(u.Origination);
        Assert.Null(u.Origination.ClientCertificate);
        Assert.Equal(ResourceState.Accepted, result.State(OriginationContext));
        Assert.DoesNotContain(OriginationContext.Ref, l.Resources);
    }
}
