using System.Net;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>max_connections and max_pending_requests reject the excess at once and recover when connections close.</summary>
public sealed class CircuitBreakerTests
{
    [Fact]
    public async Task Max_connections_rejects_the_excess_at_once_and_recovers()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var breakers = CircuitBreakerPlan.Default with { MaxConnections = 2 };
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "capped", breakers: breakers)))));

        using var first = await proxy.ConnectAsync(listener);
        var second = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);

        using (var third = await proxy.ConnectAsync(listener))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(third));
        }

        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.circuit_breaker.overflows", "mapping=capped"));
        Assert.Equal(2, upstream.Count);

        second.Dispose();
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.active") == 1, "the closed connection released its slot");
        using var fourth = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(fourth);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.circuit_breaker.overflows"));
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains("reason=CircuitOpen")), "CircuitOpen logged");
    }

    [Fact]
    public async Task Max_pending_requests_rejects_concurrent_connect_attempts_and_recovers()
    {
        await using var upstream = TestUpstream.Echo();
        var resolver = new GatedResolver(IPAddress.Loopback);
        await using var proxy = new ProxyHarness(resolver: resolver);
        var listener = Loopback();
        var breakers = CircuitBreakerPlan.Default with { MaxPendingRequests = 1 };
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream("upstream.test", upstream.EndPoint.Port, isIpLiteral: false, "pending", breakers: breakers)))));

        using var first = await proxy.ConnectAsync(listener);
        await resolver.Called.Task.WaitAsync(Net.Deadline, TestContext.Current.CancellationToken); // the first attempt is pending in the resolver

        using (var second = await proxy.ConnectAsync(listener))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(second));
        }

        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.circuit_breaker.overflows", "mapping=pending"));

        resolver.Release();
        await Net.RoundTripAsync(first);
        using var third = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(third);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.circuit_breaker.overflows"));
    }

    /// <summary>Holds every resolution until released, so a connect attempt stays pending as long as the test wants.</summary>
    private sealed class GatedResolver(IPAddress address) : IUpstreamResolver
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public async ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken)
        {
            Called.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            return [address];
        }
    }
}
