using System.Net;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// The hashed SNI lookup against the rule it implements, written as the obvious scan: the first route in
/// <see cref="HostPattern.SniOrder"/> whose pattern matches the name canonicalized by <see cref="HostName.TryCanonicalize"/>
/// (exact name, else the longest matching <c>*.domain</c> at any depth, else <c>*</c>; case-insensitive, a trailing dot
/// ignored). 10,000 routes with nested wildcards, seeded random names.
/// </summary>
public sealed class SniRouterScaleTests
{
    private static readonly List<(HostPattern Host, string Name)> Routes = BuildRoutes();
    private static readonly List<(HostPattern Host, string Name)> InSniOrder = [.. Routes.OrderBy(r => r.Host, HostPattern.SniOrder)];

    [Fact]
    public void Lookup_agrees_with_the_linear_rule_for_10000_routes()
    {
        var snapshot = ListenerSnapshot.Build(
            Inspecting(Loopback(), Routes.Select(r => TlsKit.Sni(r.Host.Text, "s", Route(Upstream(new IPEndPoint(IPAddress.Loopback, 1), r.Name))))),
            NoCertificates.Instance,
            new CircuitBreakers());
        var random = new Random(20261126);
        string[] labels = ["a", "b", "Zone-7", "zone-42", "team-3", "host-12", "example", "com", "org", "x"];

        for (var i = 0; i < 2_000; i++)
        {
            var depth = random.Next(1, 6);
            var name = string.Join('.', Enumerable.Range(0, depth).Select(_ => labels[random.Next(labels.Length)]));
            if (random.Next(3) == 0)
            {
                name += ".example.com";
            }

            if (random.Next(10) == 0)
            {
                name = name.ToUpperInvariant() + ".";
            }

            Assert.Equal(Expected(name), snapshot.Router.Find(name)?.Plan.Upstreams[0].StatsName);
        }

        Assert.Equal("exact-12", snapshot.Router.Find("HOST-12.zone-7.EXAMPLE.com")?.Plan.Upstreams[0].StatsName);
        Assert.Equal("team-3.zone-7", snapshot.Router.Find("a.b.c.team-3.zone-7.example.com")?.Plan.Upstreams[0].StatsName);
        Assert.Equal("zone-7", snapshot.Router.Find("team-3.zone-7.example.com")?.Plan.Upstreams[0].StatsName);
        Assert.Equal("any", snapshot.Router.Find("example.com")?.Plan.Upstreams[0].StatsName);
    }

    /// <summary>The rule, by brute force.</summary>
    private static string? Expected(string serverName)
    {
        var buffer = new char[HostName.MaxLength];
        Assert.True(HostName.TryCanonicalize(serverName, buffer, out var length));
        var name = new string(buffer, 0, length);
        return InSniOrder.FirstOrDefault(r => r.Host.Matches(name)).Name;
    }

    private static List<(HostPattern, string)> BuildRoutes()
    {
        var routes = new List<(HostPattern, string)> { (HostPattern.Any, "any"), (HostPattern.Parse("*.example.com"), "example") };
        for (var zone = 0; zone < 50; zone++)
        {
            routes.Add((HostPattern.Parse($"*.zone-{zone}.example.com"), $"zone-{zone}"));
            for (var team = 0; team < 10; team++)
            {
                routes.Add((HostPattern.Parse($"*.team-{team}.zone-{zone}.example.com"), $"team-{team}.zone-{zone}"));
            }

            for (var host = 0; host < 189; host++)
            {
                routes.Add((HostPattern.Parse($"host-{host}.zone-{zone}.example.com"), $"exact-{host}"));
            }
        }

        return routes;
    }
}
