using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Weighted picks over real connections: each member gets its share, share 0 gets none.</summary>
public sealed class CanaryTests
{
    private const int Connections = 2000;

    [Fact]
    public async Task Seeded_picks_give_each_member_its_share_within_3_points_and_share_0_none()
        => await RunAsync(new SeededRandom(20261126), tolerance: 3);

    [Fact]
    public async Task Unseeded_picks_give_each_member_its_share_within_5_points()
        => await RunAsync(random: null, tolerance: 5);

    private static async Task RunAsync(IRandomSource? random, double tolerance)
    {
        await using var a = TestUpstream.Sink();
        await using var b = TestUpstream.Sink();
        await using var c = TestUpstream.Sink();
        await using var zero = TestUpstream.Sink();
        await using var proxy = new ProxyHarness(random: random);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(
            Upstream(a.EndPoint, "a", share: 50),
            Upstream(b.EndPoint, "b", share: 30),
            Upstream(c.EndPoint, "c", share: 20),
            Upstream(zero.EndPoint, "zero", share: 0)))));
        var endPoint = proxy.EndPointOf(listener);

        // Batches keep the number of open sockets small while still overlapping connections.
        for (var done = 0; done < Connections; done += 50)
        {
            var batch = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Net.ConnectAsync(endPoint)));
            foreach (var s in batch)
            {
                s.Dispose();
            }
        }

        await Eventually.Until(() => a.Count + b.Count + c.Count + zero.Count == Connections, "every connection reached an upstream");
        Assert.Equal(0, zero.Count);
        Assert.InRange(a.Count * 100.0 / Connections, 50 - tolerance, 50 + tolerance);
        Assert.InRange(b.Count * 100.0 / Connections, 30 - tolerance, 30 + tolerance);
        Assert.InRange(c.Count * 100.0 / Connections, 20 - tolerance, 20 + tolerance);
    }
}
