using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// docs/tcpmapping-semantics.md, "Weights (canary groups)", for sources that cannot be refused (PerResource): a canary
/// group whose new weights cannot be used keeps its last good routing, and the statuses say the new version was
/// refused and why.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LastGoodGroupsTests(GatewayClusterFixture fixture)
{
    private static ListenerKey Key(int port) => ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port));

    private static TcpMapping Weighted(string name, int port, int? weight) => Res.Mapping(name, port) with { Weight = weight };

    [Fact]
    public async Task A_group_with_a_weight_over_100_keeps_serving_its_last_accepted_weights()
    {
        const int port = 18801;
        var grain = fixture.Silo(0).GetTenantGrain("t-last-good");
        var good = await grain.ApplyAsync(Res.PerResource(Weighted("a", port, 70), Weighted("b", port, 30)));
        Assert.All(good.Statuses, s => Assert.Equal(ResourceState.Accepted, s.State));

        var bad = await grain.ApplyAsync(Res.PerResource(Weighted("a", port, 150), Weighted("b", port, 30)));

        Assert.True(bad.Accepted);
        Assert.All(bad.Statuses, s => Assert.Equal(ResourceState.Accepted, s.State));
        var message = Assert.Single(bad.StatusOf(Weighted("a", port, 150)).Messages, m => m.Contains("refused", StringComparison.Ordinal));
        Assert.Contains("last accepted version stays served", message, StringComparison.Ordinal);
        Assert.Contains("a weight must be from 0 to 100", message, StringComparison.Ordinal);
        Assert.Contains(bad.Diagnostics, d => d.Severity == Severity.Error && d.Code == DiagnosticCodes.GroupWeights);
        Assert.Equal("70/30", await SharesAsync(port));
        var stored = (await grain.GetAsync()).Resources.Select(r => r.Resource).OfType<TcpMapping>().Single(m => m.Name == "a");
        Assert.Equal(70, stored.Weight);

        // Fixed weights are taken as usual, and the refusal message is gone.
        var fixedUp = await grain.ApplyAsync(Res.PerResource(Weighted("a", port, 60), Weighted("b", port, 40)));
        Assert.All(fixedUp.Statuses, s => Assert.DoesNotContain(s.Messages, m => m.Contains("refused", StringComparison.Ordinal)));
        Assert.Equal("60/40", await SharesAsync(port));
    }

    [Fact]
    public async Task A_new_member_that_pushes_the_total_over_100_is_discarded_and_the_old_members_keep_their_shares()
    {
        const int port = 18802;
        var grain = fixture.Silo(1).GetTenantGrain("t-last-good-new");
        await grain.ApplyAsync(Res.PerResource(Weighted("a", port, 70), Weighted("b", port, 30)));

        var outcome = await grain.ApplyAsync(Res.PerResource(Weighted("a", port, 70), Weighted("b", port, 30), Weighted("c", port, 50)));

        Assert.Equal(ResourceState.Discarded, outcome.StatusOf(Weighted("c", port, 50)).State);
        Assert.Contains(outcome.StatusOf(Weighted("c", port, 50)).Messages, m => m.Contains("add up to more than 100", StringComparison.Ordinal));
        Assert.Equal(ResourceState.Accepted, outcome.StatusOf(Weighted("a", port, 70)).State);
        Assert.Equal(ResourceState.Accepted, outcome.StatusOf(Weighted("b", port, 30)).State);
        Assert.Equal("70/30", await SharesAsync(port));
    }

    [Fact]
    public async Task Without_a_last_good_version_the_group_is_discarded_and_strict_applies_are_refused_as_before()
    {
        const int port = 18803;
        var perResource = await fixture.Silo(2).GetTenantGrain("t-last-good-none")
            .ApplyAsync(Res.PerResource(Weighted("a", port, 60), Weighted("b", port, 60)));
        Assert.All(perResource.Statuses, s => Assert.Equal(ResourceState.Discarded, s.State));
        Assert.Null((await fixture.Silo(0).GetListenerGrain(Key(port)).GetSliceAsync()).Plan);

        const int strictPort = 18804;
        var grain = fixture.Silo(2).GetTenantGrain("t-last-good-strict");
        Assert.True((await grain.ApplyAsync(Res.Strict(Weighted("a", strictPort, 70), Weighted("b", strictPort, 30)))).Accepted);
        Assert.False((await grain.ApplyAsync(Res.Strict(Weighted("a", strictPort, 150), Weighted("b", strictPort, 30)))).Accepted);
        Assert.Equal("70/30", await SharesAsync(strictPort));
    }

    /// <summary>The served shares of the port's group, by member name: <c>70/30</c>.</summary>
    private async Task<string> SharesAsync(int port)
    {
        var slice = await fixture.Silo(2).GetListenerGrain(Key(port)).GetSliceAsync();
        return string.Join("/", slice.Plan!.CatchAll!.Upstreams.OrderBy(u => u.Mapping.Name, StringComparer.Ordinal)
            .Select(u => u.Share.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
