using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>The compiler is a pure function of the SET of resources: shuffled input, identical output.</summary>
public sealed class DeterminismTests
{
    [Fact]
    public void Output_does_not_depend_on_input_order()
    {
        var resources = Scenario.Rich();
        var expected = Res.Compile(resources).Canonical();
        var random = new Random(20261126);

        for (var round = 0; round < 25; round++)
        {
            var shuffled = resources.ToArray();
            random.Shuffle(shuffled);
            Assert.Equal(expected, Res.Compile(shuffled).Canonical());
        }
    }

    [Fact]
    public void Same_input_gives_equal_output()
    {
        Assert.Equal(Res.Compile(Scenario.Rich()).Canonical(), Res.Compile(Scenario.Rich()).Canonical());
    }

    [Fact]
    public void Every_resource_gets_exactly_one_status_and_every_message_is_a_diagnostic()
    {
        var resources = Scenario.Rich();

        var result = Res.Compile(resources);

        Assert.Equal(resources.Select(r => r.Ref).Order(ResourceOrder.RefComparer), result.Statuses.Select(s => s.Resource));
        foreach (var status in result.Statuses)
        {
            var diagnostics = result.Diagnostics.Where(d => d.Resource == status.Resource).Select(d => d.Message);
            Assert.Equal(status.Messages.ToArray(), diagnostics.ToArray());
            if (status.State != ResourceState.Accepted)
            {
                Assert.NotEmpty(status.Messages);
            }
        }

        Assert.True(result.HasDiscarded);
    }

    [Fact]
    public void Rich_scenario_outcomes()
    {
        var result = Res.Compile(Scenario.Rich());
        string State(string kind, string name, string ns = "default") =>
            result.Statuses.Single(s => s.Resource == new ResourceRef(kind, ns, name)).State.ToString();

        Assert.Equal("Accepted", State("TCPMapping", "ssh"));
        Assert.Equal("Discarded", State("TCPMapping", "ssh-bad-idle"));
        Assert.Equal("Discarded", State("Listener", "dup-9000", "zzz"));
        Assert.Equal("Accepted", State("Listener", "proxy")); // HTTPSPROXY: PROXY in the stack is served (a PROXY header required)
        Assert.Equal("Discarded", State("TCPMapping", "web"));
        Assert.Equal("Discarded", State("TCPMapping", "over"));
        Assert.Equal("Discarded", State("TCPMapping", "over2"));
        Assert.Equal("Ignored", State("TCPMapping", "elsewhere"));
        Assert.Equal("Accepted", State("TCPMapping", "auto"));
        Assert.Equal("Discarded", State("TCPMapping", "broken"));
        Assert.Equal("Ignored", State("Mapping", "web"));
        Assert.Equal("Discarded", State("TCPMapping", "db-canary", "team"));

        var ssh = result.Listener(2222).CatchAll!;
        Assert.Equal([90.0, 10.0], ssh.Upstreams.Select(u => u.Share));
        Assert.Equal(TimeSpan.FromMinutes(1), ssh.Upstreams[0].IdleTimeout);
        Assert.Equal(100, ssh.Upstreams[0].CircuitBreakers.MaxConnections);

        var tls = result.Listener(9000);
        Assert.Equal(new ResourceRef("Listener", "default", "tls-9000"), tls.Source);
        Assert.Equal(["db.example.com", "legacy.internal", "*.example.com"], tls.SniRoutes.Select(r => r.Host.Text));
        Assert.Equal(new ResourceRef("Host", "default", "exact"), tls.SniRoutes[0].Termination!.CertificateSource);
        Assert.Equal(new SecretRef("certs", "ctx-cert"), tls.SniRoutes[1].Termination!.Certificate);
        Assert.Equal("consul", tls.SniRoutes[1].Route.Upstreams[0].Resolver.Kind.ToString().ToLowerInvariant());
        Assert.Equal(new ResourceRef("Host", "default", "wild"), tls.SniRoutes[2].Termination!.CertificateSource);
        Assert.Equal("raw:443", tls.CatchAll!.Upstreams.Single().Service);

        Assert.True(result.Listener(9001).TlsInspected);
        Assert.Equal("backend.team", result.Listener(3005).CatchAll!.Upstreams[0].Service);
        Assert.Equal("fe80::1%eth0", result.Listener(3001).CatchAll!.Upstreams[0].Target.Host);
    }
}
