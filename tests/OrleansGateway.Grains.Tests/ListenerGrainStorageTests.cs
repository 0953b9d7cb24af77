using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// A shared listener stores one entry per tenant and a small index (docs/scale.md): a tenant's change writes its own
/// routes, not every tenant's; a listener stored inline by an earlier build moves its claims to entries and keeps
/// arbitrating with them.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ListenerGrainStorageTests(GatewayClusterFixture fixture)
{
    private static ListenerKey Key(int port) => ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port));

    [Fact]
    public async Task A_tenants_change_writes_its_own_entry_and_an_index_that_holds_no_routes()
    {
        const int port = 18950;
        for (var i = 0; i < 12; i++)
        {
            var tenant = $"ls-{i}";
            var resources = Res.TlsHost(tenant, $"*.{tenant}.test", out _);
            var mappings = Enumerable.Range(0, 5).Select(j => Res.Mapping($"{tenant}-m{j}", port, host: $"m{j}.{tenant}.test"));
            Assert.True((await fixture.Silo(i % 3).GetTenantGrain(tenant).ApplyAsync(Res.Strict([.. resources, .. mappings]))).Accepted);
        }

        var key = Key(port);
        var index = fixture.Store.StoredBytes("listener", key.Value);
        var entry = fixture.Store.StoredBytes(ListenerGrain.ClaimStateName, $"{key.Value}/ls-0");
        Assert.NotNull(index);
        Assert.NotNull(entry);

        // The index lists 12 tenants in fewer bytes than one tenant's 5 routes: its size does not grow with routes.
        Assert.True(index < entry, $"index {index} B, one tenant's entry {entry} B");
        var slice = await fixture.Silo(1).GetListenerGrain(key).GetSliceAsync();
        Assert.Equal(60, slice.Plan!.SniRoutes.Length);

        // Read back through new activations: the same routes, and another tenant still cannot take a name.
        await fixture.Silo(0).GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        var again = await fixture.Silo(2).GetListenerGrain(key).GetSliceAsync();
        Assert.Equal(slice.Plan.SniRoutes.Select(r => r.Host.Text), again.Plan!.SniRoutes.Select(r => r.Host.Text));
        var intruder = Res.Mapping("steal", port, host: "m3.ls-7.test");
        var refused = await fixture.Silo(1).GetTenantGrain("ls-intruder").ApplyAsync(Res.Strict([.. Res.TlsHost("ls-intruder", "m3.ls-7.test", out _), intruder]));
        Assert.False(refused.Accepted);
        Assert.Contains("another tenant", refused.StatusOf(intruder).Messages.Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claims_stored_inline_by_an_earlier_build_move_to_entries_and_keep_their_names()
    {
        const int port = 18960;
        var key = Key(port);

        // What an earlier build stored: tenant ls-old's route inline in the listener state.
        var old = await fixture.Silo(0).GetTenantGrain("ls-old-source").ApplyAsync(
            Res.Strict([.. Res.TlsHost("ls-old", "db.old.test", out _), Res.Mapping("old-route", port + 1, host: "db.old.test")]));
        Assert.True(old.Accepted);
        var plan = (await fixture.Silo(0).GetListenerGrain(Key(port + 1)).GetSliceAsync()).Plan! with { Endpoint = key.Endpoint };
        var serializer = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>();
        var grain = fixture.Silo(0).GetListenerGrain(key).GetGrainId();
        fixture.Store.Put(serializer, "listener", grain, new ListenerState { Version = 4, NextSequence = 2, Claims = [new TenantClaim("ls-old", 1, plan)] });

        var slice = await fixture.Silo(1).GetListenerGrain(key).GetSliceAsync();
        Assert.Equal("db.old.test", Assert.Single(slice.Plan!.SniRoutes).Host.Text);
        Assert.NotNull(fixture.Store.StoredBytes(ListenerGrain.ClaimStateName, $"{key.Value}/ls-old"));

        var mine = Res.Mapping("new-route", port, host: "db.old.test");
        var outcome = await fixture.Silo(2).GetTenantGrain("ls-new").ApplyAsync(Res.Strict([.. Res.TlsHost("ls-new", "db.old.test", out _), mine]));
        Assert.False(outcome.Accepted);
        Assert.Contains("another tenant", outcome.StatusOf(mine).Messages.Last(), StringComparison.Ordinal);
    }
}
