using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using OrleansGateway.Sources;

namespace OrleansGateway.Grains.Tests;

/// <summary>The seam every source applies through (the config directory now, Kubernetes next), on the shared cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TenantSourceTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task A_source_replaces_only_its_own_resources_and_withdraws_the_tenants_it_no_longer_holds()
    {
        var source = new TenantSource(fixture.Silo(0), "test-source", GatewayClusterFixture.AmbassadorId);
        var api = await fixture.Silo(1).GetTenantGrain("t-src-a").ApplyAsync(Res.Strict(Res.Mapping("from-api", 18501)));
        Assert.True(api.Accepted);

        var first = await source.ApplyAsync("t-src-a", [Res.Mapping("one", 18502), Res.Mapping("two", 18503)]);
        await source.ApplyAsync("t-src-b", [Res.Mapping("b", 18504)]);
        var second = await source.ApplyAsync("t-src-a", [Res.Mapping("two", 18503)]);

        Assert.Equal(3, first.Statuses.Length);
        Assert.Equal(["from-api", "two"], second.Statuses.Select(s => s.Resource.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["t-src-a", "t-src-b"], source.Tenants.Order(StringComparer.Ordinal));

        var withdrawn = await source.HoldOnlyAsync(["t-src-b", "t-src-c"]);

        var (tenant, outcome) = Assert.Single(withdrawn);
        Assert.Equal("t-src-a", tenant);
        Assert.Equal(["from-api"], outcome.Statuses.Select(s => s.Resource.Name));
        Assert.Equal(["from-api"], (await source.GetAsync("t-src-a")).Resources.Select(r => r.Resource.Name));
        Assert.Equal(["t-src-b", "t-src-c"], source.Tenants.Order(StringComparer.Ordinal));
        Assert.True(await source.DirectoryVersionAsync() > 0);
    }

    [Fact]
    public void Status_changes_are_reported_once_per_change()
    {
        var changes = new StatusChanges();
        var bad = new ResourceRef("TCPMapping", "default", "bad");
        var good = new ResourceRef("TCPMapping", "default", "good");
        ResourceStatus Discarded(string reason) => new(bad, ResourceState.Discarded, [reason], null);
        var accepted = new ResourceStatus(good, ResourceState.Accepted, [], null);

        Assert.Equal(2, changes.Update("t", [Discarded("port"), accepted]).Length);
        Assert.Empty(changes.Update("t", [Discarded("port"), accepted]));
        Assert.Equal([bad], changes.Update("t", [Discarded("host"), accepted]).Select(s => s.Resource));
        Assert.Single(changes.Update("other", [Discarded("host")]));
        Assert.Empty(changes.Update("t", [accepted with { Messages = [] }, Discarded("host")]));

        // Gone and back: reported again.
        Assert.Empty(changes.Update("t", [accepted]));
        Assert.Equal([bad], changes.Update("t", [accepted, Discarded("host")]).Select(s => s.Resource));
    }
}
