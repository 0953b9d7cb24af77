using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class SiloLossTests(GatewayClusterFixture fixture)
{
    /// <summary>
    /// A silo stopped abruptly: its tenant and listener grains reactivate on another silo with their state, and an edge
    /// that lived on it (cut off from the cluster) keeps serving its last snapshot. The state
    /// survives because the fixture's storage is shared by every silo (see <see cref="SharedStore"/>). The killed silo
    /// is one that hosts the tenant grain; the cluster gets a replacement silo afterwards so other tests keep 3 silos.
    /// </summary>
    [Fact]
    public async Task Tenant_and_listener_grains_reactivate_elsewhere_with_their_state()
    {
        var cluster = fixture.Cluster;
        var client = cluster.Client;

        // Find a tenant whose grain lives on a secondary silo (the first silo is kept: the client's gateway is there).
        InProcessSiloHandleInfo? victim = null;
        var tenantId = "";
        var mapping = Res.Mapping("survivor", 18300);
        for (var i = 0; victim is null; i++)
        {
            Assert.True(i < 20, "no tenant grain landed on a secondary silo in 20 tries");
            tenantId = $"t-survivor-{i}";
            var apply = await client.GetTenantGrain(tenantId).ApplyAsync(Res.Strict(mapping with { Port = 18300 + i }));
            Assert.True(apply.Accepted, string.Join("\n", apply.Diagnostics));
            victim = await HostOfAsync(client.GetTenantGrain(tenantId));
            mapping = mapping with { Port = 18300 + i };
        }

        // An edge on the victim silo: once its silo is gone it cannot reach the cluster and must keep its last snapshot.
        var edge = new EdgeRouteCache(victim.Handle.ServiceProvider.GetRequiredService<IGrainFactory>(), GatewayClusterFixture.AmbassadorId,
            (_, _) => Task.CompletedTask, NullLogger<EdgeRouteCache>.Instance, pollInterval: TimeSpan.FromMilliseconds(100));
        edge.Start();
        await Eventually.Get(() => Task.FromResult(edge.Current), s => s?.Plan.Listeners.Any(l => l.Endpoint.Port == mapping.Port) == true,
            what: "the edge on the victim silo to serve the route");

        var before = await client.GetTenantGrain(tenantId).GetAsync();
        await cluster.KillSiloAsync(victim.Handle, TestContext.Current.CancellationToken);
        try
        {
            await Eventually.Get(() => Task.FromResult(edge.IsConnected), connected => !connected, "the cut-off edge to notice", TimeSpan.FromSeconds(60));
            Assert.Contains(edge.Current!.Plan.Listeners, l => l.Endpoint.Port == mapping.Port);

            var after = await Eventually.Get(() => client.GetTenantGrain(tenantId).GetAsync(), _ => true, "the tenant grain to reactivate", TimeSpan.FromSeconds(60));
            Assert.Equal(before.Version, after.Version);
            Assert.Equal(ResourceState.Accepted, after.StatusOf(mapping).State);
            var tenantGrainId = client.GetTenantGrain(tenantId).GetGrainId();
            Assert.Contains(cluster.Silos, s => s != victim.Handle && s.IsActive
                && s.ServiceProvider.GetRequiredService<ILocalActivationStatusChecker>().IsLocallyActivated(tenantGrainId));

            var key = ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", mapping.Port));
            var slice = await Eventually.Get(() => client.GetListenerGrain(key).GetSliceAsync(), _ => true, "the listener grain to reactivate", TimeSpan.FromSeconds(60));
            Assert.Equal("survivor", Assert.Single(slice.Plan!.CatchAll!.Upstreams).Mapping.Name);

            // The reactivated grains still arbitrate with their persisted claims.
            Assert.False((await client.GetTenantGrain("t-survivor-rival").ApplyAsync(Res.Strict(Res.Mapping("rival", mapping.Port)))).Accepted);
        }
        finally
        {
            await edge.DisposeAsync();
            await fixture.ReplaceKilledSiloAsync();
        }
    }

    private sealed record InProcessSiloHandleInfo(Orleans.TestingHost.InProcessSiloHandle Handle, SiloAddress Address);

    /// <summary>The secondary silo the grain is active on, or null (on the first silo, or not active).</summary>
    private Task<InProcessSiloHandleInfo?> HostOfAsync(IAddressable grain)
    {
        var grainId = grain.GetGrainId();
        foreach (var silo in fixture.Cluster.Silos.Skip(1).Where(s => s.IsActive))
        {
            if (silo.ServiceProvider.GetRequiredService<ILocalActivationStatusChecker>().IsLocallyActivated(grainId))
            {
                return Task.FromResult<InProcessSiloHandleInfo?>(new InProcessSiloHandleInfo(silo, silo.SiloAddress));
            }
        }

        return Task.FromResult<InProcessSiloHandleInfo?>(null);
    }
}
