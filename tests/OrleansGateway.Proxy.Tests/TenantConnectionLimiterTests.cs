using System.Collections.Immutable;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>The limiter's connection path: exact under contention and free of allocations.</summary>
public sealed class TenantConnectionLimiterTests
{
    [Fact]
    public void Admission_and_release_allocate_nothing_per_connection()
    {
        using var metrics = new ProxyMetrics(null);
        var limiter = new TenantConnectionLimiter(metrics);
        var (plan, snapshot) = Build(limit: 1);
        limiter.Apply(plan);
        var route = snapshot.CatchAll!;

        // Warm up (first calls may JIT or size internal tables), then count this thread's allocations.
        Cycle(limiter, snapshot, route, 100);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Cycle(limiter, snapshot, route, 10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(10_100L, limiter.Refused()["tenant-a"]);
        Assert.Empty(limiter.Active());
    }

    [Fact]
    public async Task Concurrent_admissions_never_exceed_the_limit()
    {
        using var metrics = new ProxyMetrics(null);
        var limiter = new TenantConnectionLimiter(metrics);
        var (plan, snapshot) = Build(limit: 2); // below the 4 threads, so the limit is what caps the peak
        limiter.Apply(plan);
        var route = snapshot.CatchAll!;
        var peak = 0;
        var active = 0;

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                if (limiter.TryAdmit(snapshot, route, out var slot))
                {
                    var now = Interlocked.Increment(ref active);
                    InterlockedMax(ref peak, now);
                    Interlocked.Decrement(ref active);
                    slot!.Release();
                }
            }
        })));

        Assert.InRange(peak, 1, 2);
        Assert.Empty(limiter.Active());
    }

    /// <summary>One admitted connection held, then <paramref name="count"/> refused ones and the release.</summary>
    private static void Cycle(TenantConnectionLimiter limiter, ListenerSnapshot snapshot, RouteEntry route, int count)
    {
        Assert.True(limiter.TryAdmit(snapshot, route, out var held));
        for (var i = 0; i < count; i++)
        {
            if (limiter.TryAdmit(snapshot, route, out var slot))
            {
                slot!.Release();
            }
        }

        held!.Release();
    }

    private static (GatewayPlan, ListenerSnapshot) Build(int limit)
    {
        var listener = Cleartext(new ListenerEndpoint("127.0.0.1", 1), Route(Upstream(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9))));
        var plan = Plan(listener) with { ConnectionLimits = ImmutableDictionary<string, int>.Empty.Add("tenant-a", limit) };
        return (plan, ListenerSnapshot.Build(listener, NoCertificates.Instance, new CircuitBreakers()));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
