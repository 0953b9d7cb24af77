using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>Strict is all or nothing even when two tenants race for one listener (a trial claim reserves nothing).</summary>
[Collection(ClusterCollection.Name)]
public sealed class StrictRaceTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task Two_tenants_racing_for_one_port_end_with_one_owner_and_one_refusal_that_stored_nothing()
    {
        for (var round = 0; round < 20; round++)
        {
            var port = 18600 + round;
            var a = fixture.Silo(0).GetTenantGrain($"race-{round}-a");
            var b = fixture.Silo(1).GetTenantGrain($"race-{round}-b");
            var outcomes = await Task.WhenAll(
                a.ApplyAsync(Res.Strict(Res.Mapping("a", port))),
                b.ApplyAsync(Res.Strict(Res.Mapping("b", port))));

            Assert.Single(outcomes, o => o.Accepted);
            var (winner, loser) = outcomes[0].Accepted ? (a, b) : (b, a);
            var lost = outcomes.Single(o => !o.Accepted);
            Assert.Contains(lost.Statuses, s => s.State == ResourceState.Discarded);
            Assert.Empty((await loser.GetAsync()).Resources);
            Assert.Equal(ResourceState.Accepted, Assert.Single((await winner.GetAsync()).Resources).Status.State);

            var slice = await fixture.Silo(2).GetListenerGrain(ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port))).GetSliceAsync();
            var owner = outcomes[0].Accepted ? "a" : "b";
            Assert.Equal(owner, Assert.Single(slice.Plan!.CatchAll!.Upstreams).Mapping.Name);
        }
    }

    [Fact]
    public async Task A_refused_rollback_keeps_the_previous_routes_of_the_loser()
    {
        // The loser had a route on another port before: a refused change must leave it as it was.
        for (var round = 0; round < 10; round++)
        {
            var port = 18650 + round;
            var a = fixture.Silo(0).GetTenantGrain($"race-keep-{round}-a");
            var b = fixture.Silo(1).GetTenantGrain($"race-keep-{round}-b");
            var keepA = Res.Mapping("keep-a", 18680 + round);
            var keepB = Res.Mapping("keep-b", 18690 + round);
            Assert.True((await a.ApplyAsync(Res.Strict(keepA))).Accepted);
            Assert.True((await b.ApplyAsync(Res.Strict(keepB))).Accepted);

            var outcomes = await Task.WhenAll(
                a.ApplyAsync(Res.Strict(keepA, Res.Mapping("a", port))),
                b.ApplyAsync(Res.Strict(keepB, Res.Mapping("b", port))));

            Assert.Single(outcomes, o => o.Accepted);
            var (loser, kept, keptPort) = outcomes[0].Accepted ? (b, keepB, 18690 + round) : (a, keepA, 18680 + round);
            var stored = Assert.Single((await loser.GetAsync()).Resources);
            Assert.Equal(kept.Ref, stored.Resource.Ref);
            Assert.Equal(ResourceState.Accepted, stored.Status.State);
            var slice = await fixture.Silo(2).GetListenerGrain(ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", keptPort))).GetSliceAsync();
            Assert.Equal(kept.Name, Assert.Single(slice.Plan!.CatchAll!.Upstreams).Mapping.Name);
        }
    }
}
