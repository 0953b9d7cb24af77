using System.Net;
using System.Net.Sockets;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Upstream names through an injected resolver: IPv6 first, IPv4 fallback, family switches, failures.</summary>
public sealed class ResolutionTests
{
    [Fact]
    public async Task IPv6_is_preferred_when_both_families_answer()
    {
        Assert.SkipUnless(Net.Ipv6LoopbackAvailable(), Net.NoIpv6Loopback);

        await using var v4 = TestUpstream.Echo(IPAddress.Loopback);
        await using var v6 = TestUpstream.Echo(IPAddress.IPv6Loopback, v4.EndPoint.Port);
        await using var proxy = new ProxyHarness(resolver: new FixedResolver(IPAddress.Loopback, IPAddress.IPv6Loopback));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream("dual.test", v4.EndPoint.Port, isIpLiteral: false)))));

        using var client = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(client);

        Assert.Equal(1, v6.Count);
        Assert.Equal(0, v4.Count);
    }

    [Fact]
    public async Task IPv4_is_used_when_the_IPv6_address_refuses()
    {
        Assert.SkipUnless(Net.Ipv6LoopbackAvailable(), Net.NoIpv6Loopback);

        await using var v4 = TestUpstream.Echo(IPAddress.Loopback); // nothing listens on [::1] at this port
        await using var proxy = new ProxyHarness(resolver: new FixedResolver(IPAddress.IPv6Loopback, IPAddress.Loopback));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream("dual.test", v4.EndPoint.Port, isIpLiteral: false)))));

        using var client = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(client);

        Assert.Equal(1, v4.Count);
        await Eventually.Until(() => proxy.Server.GetActiveConnections(listener) == 1, "one proxied connection");
    }

    [Fact]
    public async Task Enable_ipv6_false_skips_the_IPv6_addresses()
    {
        Assert.SkipUnless(Net.Ipv6LoopbackAvailable(), Net.NoIpv6Loopback);

        await using var v4 = TestUpstream.Echo(IPAddress.Loopback);
        await using var v6 = TestUpstream.Echo(IPAddress.IPv6Loopback, v4.EndPoint.Port);
        await using var proxy = new ProxyHarness(resolver: new FixedResolver(IPAddress.IPv6Loopback, IPAddress.Loopback));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream("dual.test", v4.EndPoint.Port, isIpLiteral: false, enableIpv6: false)))));

        using var client = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(client);

        Assert.Equal(1, v4.Count);
        Assert.Equal(0, v6.Count);
    }

    [Fact]
    public async Task An_unresolvable_name_closes_the_client_promptly_and_is_counted()
    {
        await using var proxy = new ProxyHarness(resolver: new FixedResolver());
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream("nowhere.test", 80, isIpLiteral: false, "lost")))));

        using var client = await proxy.ConnectAsync(listener);

        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=ResolveFailed") == 1, "failure counted");
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains("reason=ResolveFailed")), "ResolveFailed logged");
    }

    [Fact]
    public async Task A_refused_upstream_closes_the_client_and_is_counted()
    {
        var port = Ports.Free();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(new IPEndPoint(IPAddress.Loopback, port), "refused")))));

        using var client = await proxy.ConnectAsync(listener);

        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=UpstreamRefused") == 1, "refusal counted");
    }

    /// <summary>Resolves every name to the given addresses, in that order; none: the name does not exist.</summary>
    private sealed class FixedResolver(params IPAddress[] addresses) : IUpstreamResolver
    {
        public ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken)
            => addresses.Length == 0
                ? ValueTask.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound))
                : ValueTask.FromResult(addresses);
    }
}
