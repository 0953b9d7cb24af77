using System.Collections.Immutable;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// A tenant's concurrent-connection limit (<see cref="GatewayPlan.ConnectionLimits"/>): the excess is closed at once,
/// counted and logged, other tenants are unaffected, and a lowered limit never cuts established connections.
/// </summary>
public sealed class TenantConnectionLimitTests
{
    private const string TenantA = "tenant-a";
    private const string TenantB = "tenant-b";

    [Fact]
    public async Task Over_the_limit_is_refused_and_counted_other_tenants_are_unaffected_and_a_close_frees_a_slot()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listenerA = Loopback(1);
        var listenerB = Loopback(2);
        await proxy.ApplyBoundAsync(Limited(
            Plan(
                Cleartext(listenerA, Route(Upstream(upstream.EndPoint, "a-db"))),
                Cleartext(listenerB, Route(Upstream(upstream.EndPoint, "b-db") with { Tenant = TenantB }))),
            (TenantA, 2)));

        using var first = await proxy.ConnectAsync(listenerA);
        var second = await proxy.ConnectAsync(listenerA);
        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);

        using (var third = await proxy.ConnectAsync(listenerA))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(third));
        }

        Assert.Equal(2, upstream.Count); // refused before the upstream was dialled
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.quota_refusals", $"tenant={TenantA}"));
        await Eventually.Until(
            () => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains($"tenant={TenantA}") && l.Contains("reason=TenantQuota")),
            "the refusal in the access log, with its tenant");

        // Tenant B has no limit: three connections at once, while A is full.
        var others = new List<System.Net.Sockets.Socket>();
        for (var i = 0; i < 3; i++)
        {
            others.Add(await proxy.ConnectAsync(listenerB));
            await Net.RoundTripAsync(others[^1]);
        }

        var status = proxy.Server.GetStatus();
        Assert.Equal(1L, status.RefusedConnections[TenantA]);
        Assert.False(status.RefusedConnections.ContainsKey(TenantB));
        Assert.Equal(2, status.ActiveConnections[TenantA]);
        Assert.Equal(3, status.ActiveConnections[TenantB]);
        var byEndpoint = status.Listeners.ToDictionary(l => l.Endpoint);
        Assert.True(byEndpoint[listenerA].Bound);
        Assert.Equal($"{TenantA}=2", Text(byEndpoint[listenerA].ActiveConnectionsByTenant));
        Assert.Equal($"{TenantB}=3", Text(byEndpoint[listenerB].ActiveConnectionsByTenant));

        // Closing one connection of A frees its slot.
        second.Dispose();
        await Eventually.Until(() => proxy.Server.GetStatus().ActiveConnections.GetValueOrDefault(TenantA) == 1, "the closed connection released its slot");
        using var fourth = await proxy.ConnectAsync(listenerA);
        await Net.RoundTripAsync(fourth);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.quota_refusals"));
        foreach (var s in others)
        {
            s.Dispose();
        }
    }

    [Fact]
    public async Task Lowering_the_limit_keeps_established_connections_and_refuses_only_new_ones()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var plan = Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "db"))));
        await proxy.ApplyBoundAsync(Limited(plan, (TenantA, 3)));
        using var first = await proxy.ConnectAsync(listener);
        using var second = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);

        await proxy.ApplyBoundAsync(Limited(plan, (TenantA, 1)));

        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);
        using (var refused = await proxy.ConnectAsync(listener))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(refused));
        }

        Assert.Equal(1L, proxy.Server.GetStatus().RefusedConnections[TenantA]);

        // Raising it takes effect with the next plan; the established connections still count.
        await proxy.ApplyBoundAsync(Limited(plan, (TenantA, 3)));
        using var third = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(third);
        await Net.RoundTripAsync(first);
        Assert.Equal(3, proxy.Server.GetStatus().ActiveConnections[TenantA]);

        // A plan without a limit for the tenant makes it unlimited.
        await proxy.ApplyBoundAsync(plan);
        using var fourth = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(fourth);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.quota_refusals"));
    }

    [Fact]
    public async Task On_a_shared_tls_port_the_tenant_of_the_sni_route_is_limited_before_its_handshake()
    {
        await using var upA = Named("a");
        await using var upB = Named("b");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var certs = Provider(("a-cert", Server("a.test")), ("b-cert", Server("b.test")));
        await proxy.ApplyBoundAsync(
            Limited(
                Plan(Inspecting(listener, [
                    Sni("a.test", "a-cert", Route(Upstream(upA.EndPoint, "a"))),
                    Sni("b.test", "b-cert", Route(Upstream(upB.EndPoint, "b") with { Tenant = TenantB })),
                ])),
                (TenantA, 1),
                (TenantB, 1)),
            certs);
        var endPoint = proxy.EndPointOf(listener);

        using var a1 = await ConnectAsync(endPoint, "a.test");
        Assert.Null(a1.Error);
        Assert.Equal("a", await ReadBannerAsync(a1.Stream!));

        using (var a2 = await ConnectAsync(endPoint, "a.test"))
        {
            Assert.NotNull(a2.Error);
            Assert.Null(a2.ServerCertificate); // closed before the handshake: no certificate was shown
        }

        using var b1 = await ConnectAsync(endPoint, "b.test");
        Assert.Null(b1.Error);
        Assert.Equal("b", await ReadBannerAsync(b1.Stream!));
        await EchoAsync(a1.Stream!);

        Assert.Equal(1, upA.Count);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.quota_refusals", $"tenant={TenantA}"));
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.quota_refusals", $"tenant={TenantB}"));
        var status = proxy.Server.GetStatus();
        Assert.Equal(1L, Assert.Single(status.RefusedConnections).Value);
        Assert.Equal($"{TenantA}=1, {TenantB}=1", Text(status.Listeners.Single().ActiveConnectionsByTenant));
    }

    [Fact]
    public async Task A_limit_of_zero_refuses_every_connection_of_the_tenant()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Limited(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "db")))), (TenantA, 0)));

        using var refused = await proxy.ConnectAsync(listener);

        Assert.Equal("eof", await Net.ObserveEndAsync(refused));
        Assert.Equal(0, upstream.Count);
        Assert.Equal(1L, proxy.Server.GetStatus().RefusedConnections[TenantA]);
    }

    private static GatewayPlan Limited(GatewayPlan plan, params (string Tenant, int Limit)[] limits) =>
        plan with { ConnectionLimits = limits.ToImmutableDictionary(l => l.Tenant, l => l.Limit) };

    private static string Text(IReadOnlyDictionary<string, int> counts) =>
        string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
}
