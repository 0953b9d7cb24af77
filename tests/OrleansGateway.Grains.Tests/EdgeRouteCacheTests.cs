using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;

namespace OrleansGateway.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class EdgeRouteCacheTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task An_edge_learns_a_change_through_its_observer_without_polling()
    {
        // The fake clock never advances, so the poll never fires: only the directory's notification can wake the edge.
        var edge = new EdgeRouteCache(fixture.Silo(2), GatewayClusterFixture.AmbassadorId, (_, _) => Task.CompletedTask,
            NullLogger<EdgeRouteCache>.Instance, new FakeTimeProvider(DateTimeOffset.UtcNow));
        await using (edge)
        {
            edge.Start();
            var first = await Eventually.Get(() => Task.FromResult(edge.Current), s => s is not null, what: "the first snapshot");

            var outcome = await fixture.Silo(0).GetTenantGrain("t-observed").ApplyAsync(Res.Strict(Res.Mapping("observed", 18400)));
            Assert.True(outcome.Accepted);

            var next = await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s!.Plan.Listeners.Any(l => l.Endpoint.Port == 18400), what: "the notified snapshot");
            Assert.True(next!.DirectoryVersion > first!.DirectoryVersion);
        }
    }

    [Fact]
    public async Task A_snapshot_the_data_plane_could_not_take_is_offered_again()
    {
        var offers = 0;
        var edge = new EdgeRouteCache(fixture.Silo(1), GatewayClusterFixture.AmbassadorId, (_, _) =>
            Interlocked.Increment(ref offers) == 1 ? throw new InvalidOperationException("bind failed") : Task.CompletedTask,
            NullLogger<EdgeRouteCache>.Instance, pollInterval: TimeSpan.FromMilliseconds(100));
        await using (edge)
        {
            edge.Start();
            var snapshot = await Eventually.Get(() => Task.FromResult(edge.Current), s => s is not null, what: "the retried snapshot");
            Assert.True(offers >= 2);

            // Current is set by the rebuild, IsConnected just after it by the refresh that ran the rebuild.
            Assert.True(await Eventually.TrueAsync(() => Task.FromResult(edge.IsConnected), Eventually.DefaultTimeout), "the edge never said it is connected");
            Assert.Equal(GatewayClusterFixture.AmbassadorId, snapshot!.Plan.AmbassadorId);
        }
    }
}
