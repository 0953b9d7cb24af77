using System.Net;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
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

    /// <summary>
    /// A listener shared by many tenants changes a few routes at a time (docs/data-plane.md, "A change of some routes"):
    /// the snapshot built from the previous one routes every name as a snapshot built whole, the entries of routes that
    /// are the same objects are the same entries, and the changed routes have new ones. 2,600 routes with nested
    /// wildcards and <c>*</c>, 25 seeded steps of replaced, removed and added routes.
    /// </summary>
    [Fact]
    public void A_snapshot_changed_a_few_routes_at_a_time_routes_as_one_built_whole_and_keeps_the_other_entries()
    {
        using var certificate = TlsKit.Server("example.com");
        var provider = TlsKit.Provider(("s", certificate));
        var breakers = new CircuitBreakers();
        var target = new IPEndPoint(IPAddress.Loopback, 1);
        var routes = Routes.Where(r => r.Name is "any" or "example" || r.Host.Text.Contains(".zone-1.", StringComparison.Ordinal)
                || r.Host.Text.EndsWith(".zone-2.example.com", StringComparison.Ordinal) || r.Host.Text.Contains(".zone-3", StringComparison.Ordinal))
            .Select(r => TlsKit.Sni(r.Host.Text, "s", Route(Upstream(target, r.Name)))).ToList();
        var snapshot = ListenerSnapshot.Build(Inspecting(Loopback(), routes), provider, breakers);
        Assert.Empty(snapshot.Warnings);
        var removed = new List<SniRoute>();
        var random = new Random(20261207);
        for (var step = 0; step < 25; step++)
        {
            var next = routes.ToList();
            for (var change = 0; change < 5; change++)
            {
                var i = random.Next(next.Count);
                switch (random.Next(3))
                {
                    case 0:
                        next[i] = TlsKit.Sni(next[i].Host.Text, "s", Route(Upstream(target, $"{next[i].Route.Upstreams[0].StatsName}-{step}")));
                        break;
                    case 1:
                        removed.Add(next[i]);
                        next.RemoveAt(i);
                        break;
                    default:
                        if (removed.Count > 0)
                        {
                            var back = removed[random.Next(removed.Count)];
                            removed.Remove(back);
                            next.Insert(i, TlsKit.Sni(back.Host.Text, "s", Route(Upstream(target, $"back-{step}"))));
                        }

                        break;
                }
            }

            var changed = ListenerSnapshot.Build(Inspecting(Loopback(), next), provider, breakers, previous: snapshot);
            var whole = ListenerSnapshot.Build(Inspecting(Loopback(), next), provider, breakers);
            foreach (var name in next.Concat(routes).Select(r => Probe(r.Host)).Concat(Enumerable.Range(0, 200).Select(_ => RandomName(random))))
            {
                Assert.Equal(whole.Router.Find(name)?.Plan.Upstreams[0].StatsName, changed.Router.Find(name)?.Plan.Upstreams[0].StatsName);
            }

            var kept = routes.Intersect(next, ReferenceEqualityComparer.Instance).Cast<SniRoute>().ToList();
            Assert.InRange(kept.Count, next.Count - 5, next.Count);
            foreach (var route in next)
            {
                var entry = changed.Router.Find(Probe(route.Host));
                Assert.Equal(route.Route.Upstreams[0].StatsName, entry?.Plan.Upstreams[0].StatsName);
                if (kept.Contains(route))
                {
                    Assert.Same(snapshot.Router.Find(Probe(route.Host)), entry);
                }
            }

            (routes, snapshot) = (next, changed);
        }
    }

    /// <summary>
    /// Two routes with one pattern (only a plan written by hand, or stored by an old build, has them): the first in plan
    /// order wins, and still does after changes, which then rebuild the router whole.
    /// </summary>
    [Fact]
    public void Two_routes_with_one_pattern_keep_the_first_in_plan_order_across_changes()
    {
        using var certificate = TlsKit.Server("example.com");
        var provider = TlsKit.Provider(("s", certificate));
        var breakers = new CircuitBreakers();
        var target = new IPEndPoint(IPAddress.Loopback, 1);
        var first = TlsKit.Sni("db.example.com", "s", Route(Upstream(target, "first")));
        var second = TlsKit.Sni("db.example.com", "s", Route(Upstream(target, "second")));
        var other = TlsKit.Sni("c.example.com", "s", Route(Upstream(target, "c")));

        var one = ListenerSnapshot.Build(Inspecting(Loopback(), [first, second, other]), provider, breakers);
        var two = ListenerSnapshot.Build(Inspecting(Loopback(), [first, second, TlsKit.Sni("c.example.com", "s", Route(Upstream(target, "c2")))]), provider, breakers, previous: one);
        Assert.Equal("first", two.Router.Find("db.example.com")?.Plan.Upstreams[0].StatsName);
        Assert.Equal("c2", two.Router.Find("c.example.com")?.Plan.Upstreams[0].StatsName);

        var three = ListenerSnapshot.Build(Inspecting(Loopback(), [second, other]), provider, breakers, previous: two);
        Assert.Equal("second", three.Router.Find("db.example.com")?.Plan.Upstreams[0].StatsName);
        Assert.Equal("c", three.Router.Find("c.example.com")?.Plan.Upstreams[0].StatsName);
    }

    /// <summary>A name that <paramref name="host"/> matches and no more specific pattern of <see cref="Routes"/> does.</summary>
    private static string Probe(HostPattern host) => host.Kind switch
    {
        HostPatternKind.Exact => host.Text,
        HostPatternKind.Wildcard => "probe-0." + host.Domain,
        _ => "nothing.invalid",
    };

    private static string RandomName(Random random)
    {
        string[] labels = ["a", "b", "Zone-1", "zone-2", "zone-3", "team-3", "host-12", "example", "com", "org", "x"];
        var name = string.Join('.', Enumerable.Range(0, random.Next(1, 6)).Select(_ => labels[random.Next(labels.Length)]));
        return random.Next(3) == 0 ? name + ".example.com" : name;
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
