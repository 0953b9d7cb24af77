using System.Net;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>The SNI lookup and the address order, without sockets.</summary>
public sealed class SniRouterTests
{
    private static readonly ListenerSnapshot Snapshot = BuildSnapshot();

    [Theory]
    [InlineData("host-5.example.com", "exact-5")]
    [InlineData("host-5.example.com.", "exact-5")]
    [InlineData("HOST-5.Example.COM.", "exact-5")]
    [InlineData("X.Zone-7.EXAMPLE.com.", "zone-7")]
    [InlineData("höst-5.example.com", "any")]
    [InlineData("x.zone-7.example.com", "zone-7")]
    [InlineData("a.b.zone-7.example.com", "zone-7")]
    [InlineData("x.y.example.com", "example")]
    [InlineData("zone-7.example.com", "example")]
    [InlineData("example.com", "any")]
    [InlineData("other.net", "any")]
    [InlineData(null, "any")]
    public void Lookup_prefers_exact_then_the_longest_wildcard_then_any(string? sni, string expected)
        => Assert.Equal(expected, Snapshot.Router.Find(sni)!.Plan.Upstreams[0].StatsName);

    [Fact]
    public void Lookup_does_not_allocate()
    {
        var names = new[] { "host-999.example.com", "a.b.zone-500.example.com", "nothing.org", "q.example.com" };
        Snapshot.Router.Find(names[0]); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Snapshot.Router.Find(names[i % names.Length]);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Theory]
    [InlineData("shop.a.test", "a-glob")]
    [InlineData("SHOP.A.TEST.", "a-glob")]
    [InlineData("pay.b.test", "b-exact")]
    [InlineData("x.xn--bcher-kva.test", "idn")]
    [InlineData("a.test", null)]
    public void Patterns_written_in_any_spelling_route_by_their_canonical_form(string sni, string? expected)
    {
        RoutePlan R(string name) => Route(Upstream(new IPEndPoint(IPAddress.Loopback, 1), name));
        var snapshot = ListenerSnapshot.Build(
            Inspecting(Loopback(), [TlsKit.Sni("*.A.TEST.", "s", R("a-glob")), TlsKit.Sni("Pay.B.Test.", "s", R("b-exact")), TlsKit.Sni("*.Bücher.test", "s", R("idn"))]),
            NoCertificates.Instance,
            new CircuitBreakers());

        Assert.Equal(expected, snapshot.Router.Find(sni)?.Plan.Upstreams[0].StatsName);
    }

    [Fact]
    public void Without_any_route_an_unknown_name_finds_nothing()
    {
        var route = Route(Upstream(new IPEndPoint(IPAddress.Loopback, 1), "only"));
        var snapshot = ListenerSnapshot.Build(Inspecting(Loopback(), [TlsKit.Sni("only.test", "s", route)]), NoCertificates.Instance, new CircuitBreakers());

        Assert.Null(snapshot.Router.Find("other.test"));
        Assert.Null(snapshot.Router.Find(null));
        Assert.Contains(snapshot.Warnings, w => w.Contains("only.test"));
    }

    [Fact]
    public void Addresses_are_ordered_IPv6_first_and_filtered_by_family()
    {
        var v4 = IPAddress.Parse("10.0.0.1");
        var v6 = IPAddress.Parse("fd00::1");
        var mapped = IPAddress.Parse("::ffff:10.0.0.2");
        IPAddress[] resolved = [v4, v6, mapped];

        Assert.Equal([v6, v4, IPAddress.Parse("10.0.0.2")], UpstreamConnector.Order(resolved, enableIpv4: true, enableIpv6: true));
        Assert.Equal([v4, IPAddress.Parse("10.0.0.2")], UpstreamConnector.Order(resolved, enableIpv4: true, enableIpv6: false));
        Assert.Equal([v6], UpstreamConnector.Order(resolved, enableIpv4: false, enableIpv6: true));
    }

    private static ListenerSnapshot BuildSnapshot()
    {
        RoutePlan R(string name) => Route(Upstream(new IPEndPoint(IPAddress.Loopback, 1), name));
        var routes = new List<SniRoute> { TlsKit.Sni("*", "s", R("any")), TlsKit.Sni("*.example.com", "s", R("example")) };
        for (var i = 0; i < 1000; i++)
        {
            routes.Add(TlsKit.Sni($"host-{i}.example.com", "s", R($"exact-{i}")));
            routes.Add(TlsKit.Sni($"*.zone-{i}.example.com", "s", R($"zone-{i}")));
        }

        // No certificates: every route gets a warning, but routing itself does not need them.
        return ListenerSnapshot.Build(Inspecting(Loopback(), routes), NoCertificates.Instance, new CircuitBreakers());
    }
}
