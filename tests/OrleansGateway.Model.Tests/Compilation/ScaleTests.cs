using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// Large inputs compile with the expected counts. No timing assertion (it would flake on a busy machine); the
/// lookups are indexed so these stay linear (see docs/tcpmapping-semantics.md).
/// </summary>
public sealed class ScaleTests
{
    [Fact]
    public void Ten_thousand_sni_mappings_on_one_port()
    {
        const int count = 10_000;
        var resources = new List<Resource> { Res.TlsSecret("cert"), Res.Host("wild", "*.example.com", "cert") };
        for (var i = 0; i < count; i++)
        {
            resources.Add(Res.Tcp($"m{i}", 443, $"backend-{i}:8443", host: $"h{i}.example.com"));
            if (i % 2 == 0)
            {
                resources.Add(Res.Host($"host{i}", $"h{i}.example.com", "cert"));
            }
        }

        var result = Res.Compile([.. resources]);

        var l = Assert.Single(result.Plan.Listeners);
        Assert.Equal(count, l.SniRoutes.Length);
        Assert.Equal(count / 2, l.SniRoutes.Count(r => r.Termination!.CertificateSource.Name.StartsWith("host", StringComparison.Ordinal)));
        Assert.Equal(resources.Count, result.Statuses.Length);
        Assert.DoesNotContain(result.Statuses, s => s.State != ResourceState.Accepted);
    }

    [Fact]
    public void Ten_thousand_mappings_on_two_thousand_ports()
    {
        var resources = new List<Resource>();
        for (var i = 0; i < 10_000; i++)
        {
            resources.Add(Res.Tcp($"m{i}", 10_000 + (i % 2_000), $"backend-{i}:22"));
        }

        var result = Res.Compile([.. resources]);

        Assert.Equal(2_000, result.Plan.Listeners.Length);
        Assert.All(result.Plan.Listeners, l => Assert.Equal(5, l.CatchAll!.Upstreams.Length));
        Assert.All(result.Plan.Listeners, l => Assert.Equal(100.0, l.CatchAll!.Upstreams.Sum(u => u.Share)));
    }
}
