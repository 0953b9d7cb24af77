using Microsoft.Extensions.Logging.Abstractions;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;

namespace OrleansGateway.Grains.Tests;

/// <summary>A tenant's MaxConcurrentConnections reaches every edge's plan through the listener directory.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ConnectionLimitFlowTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task SetQuota_puts_the_limit_into_the_edge_plan_and_removing_it_makes_the_tenant_unlimited()
    {
        const string tenant = "t-conn-limit";
        var edge = new EdgeRouteCache(fixture.Silo(2), GatewayClusterFixture.AmbassadorId, (_, _) => Task.CompletedTask,
            NullLogger<EdgeRouteCache>.Instance, pollInterval: TimeSpan.FromMilliseconds(200));
        await using (edge)
        {
            edge.Start();
            var grain = fixture.Silo(0).GetTenantGrain(tenant);
            Assert.True((await grain.ApplyAsync(Res.Strict(Res.Mapping("limited", 18700)))).Accepted);

            await grain.SetQuotaAsync(new TenantQuota(MaxConcurrentConnections: 3));
            var limited = await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s is not null && s.Plan.ConnectionLimits.GetValueOrDefault(tenant) == 3, what: "the limit in the edge's plan");
            Assert.Contains(limited!.Plan.Listeners, l => l.Endpoint.Port == 18700);

            var limits = (await fixture.Silo(1).GetDirectoryGrain(GatewayClusterFixture.AmbassadorId).GetAsync()).ConnectionLimits;
            Assert.Equal(3, limits[tenant]);

            await grain.SetQuotaAsync(new TenantQuota(MaxConcurrentConnections: 0));
            await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s is not null && s.Plan.ConnectionLimits.TryGetValue(tenant, out var l) && l == 0, what: "the lowered limit");

            await grain.SetQuotaAsync(TenantQuota.Unlimited);
            await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s is not null && !s.Plan.ConnectionLimits.ContainsKey(tenant), what: "the limit removed");
        }
    }

    [Fact]
    public async Task An_unchanged_limit_does_not_change_the_directory_version()
    {
        const string tenant = "t-conn-same";
        var directory = fixture.Silo(1).GetDirectoryGrain(GatewayClusterFixture.AmbassadorId);
        var grain = fixture.Silo(0).GetTenantGrain(tenant);
        await grain.SetQuotaAsync(new TenantQuota(MaxConcurrentConnections: 5));
        var before = await directory.GetAsync();

        await directory.PublishConnectionLimitAsync(tenant, 5);

        var after = await directory.GetAsync();
        Assert.Equal(5, after.ConnectionLimits[tenant]);
        Assert.Equal(before.Version, after.Version);
    }
}
