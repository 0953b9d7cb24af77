using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// The directory stores tenants in shards and answers edges with what changed after their version
/// (docs/control-plane.md, "Directory storage: tenants in shards"): a publish writes one shard, a delta names only the
/// changed tenants, a new activation answers everything, and an edge never loses a tenant's rules to a failed rebuild.
/// Each test uses a directory of its own ambassador id, except the edge tests, which need the tenant grains' one.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DirectoryChangesTests(GatewayClusterFixture fixture)
{
    private static SecretRef Secret(string tenant) => new("default", "tls") { Tenant = tenant };

    [Fact]
    public async Task A_publish_writes_its_tenants_shard_only_and_the_index_holds_no_tenant()
    {
        const string ambassador = "dir-shards";
        var directory = fixture.Silo(0).GetDirectoryGrain(ambassador);
        var tenants = Enumerable.Range(0, 200).Select(i => $"shard-tenant-{i}").ToList();
        foreach (var tenant in tenants)
        {
            await directory.PublishCertificateAsync(Secret(tenant), new string('a', 64));
        }

        await directory.PublishListenerAsync(ListenerKey.For(ambassador, new ListenerEndpoint("0.0.0.0", 18990)), 1, hasRoutes: true);

        // Every tenant is in the shard its name hashes to; no state holds them all.
        var shards = Enumerable.Range(0, ListenerDirectoryGrain.Shards)
            .Select(i => fixture.Store.StoredBytes(ListenerDirectoryGrain.ShardStateName, $"{ambassador}/{i}") ?? 0).ToList();
        var total = shards.Sum();
        Assert.All(tenants, t => Assert.True(shards[ListenerDirectoryGrain.ShardOf(t)] > 0, $"{t}'s shard is not stored"));
        Assert.True(shards.Max() * 8 < total, $"largest shard {shards.Max()} B of {total} B: a write carries far more than its tenants");
        var index = fixture.Store.StoredBytes("directory", ambassador);
        Assert.True(index < shards.Max(), $"index {index} B holds tenants (largest shard {shards.Max()} B)");

        var view = await fixture.Silo(1).GetDirectoryGrain(ambassador).GetAsync();
        Assert.Equal(tenants.Order(StringComparer.Ordinal), view.Certificates.Select(c => c.Secret.Tenant));
    }

    [Fact]
    public async Task Changes_name_only_the_changed_tenants_and_a_new_activation_answers_everything()
    {
        var directory = fixture.Silo(0).GetDirectoryGrain("dir-changes");
        var first = await directory.GetChangesAsync(Guid.Empty, 0);
        Assert.True(first.Full);

        await directory.PublishConnectionLimitAsync("a", 5);
        await directory.PublishAllowedUpstreamsAsync("b", ["10.0.0.0/8"]);
        await directory.PublishCertificateAsync(Secret("c"), "v1");
        var three = await directory.GetChangesAsync(first.Epoch, first.Version);
        Assert.False(three.Full);
        Assert.Equal(first.Version + 3, three.Version);
        Assert.Equal(["a", "b", "c"], three.Tenants.Select(t => t.Tenant).Order(StringComparer.Ordinal));
        Assert.Equal(5, three.Tenants.Single(t => t.Tenant == "a").ConnectionLimit);
        Assert.Equal(["10.0.0.0/8"], three.Tenants.Single(t => t.Tenant == "b").AllowedUpstreams!.Value);
        Assert.Equal("v1", Assert.Single(three.Tenants.Single(t => t.Tenant == "c").Certificates).Version);

        // The same values again change nothing; a removed limit is an empty entry (the edge forgets the tenant).
        await directory.PublishConnectionLimitAsync("a", 5);
        await directory.PublishAllowedUpstreamsAsync("b", ["10.0.0.0/8"]);
        Assert.Equal(three.Version, await directory.GetVersionAsync());
        await directory.PublishConnectionLimitAsync("a", null);
        var removed = await directory.GetChangesAsync(three.Epoch, three.Version);
        Assert.True(Assert.Single(removed.Tenants).IsEmpty);
        Assert.Empty((await directory.GetChangesAsync(removed.Epoch, removed.Version)).Tenants);

        // A new activation (the grain moved or was collected) forgot what changed when: everything, never an older version.
        await fixture.Silo(0).GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        var again = await fixture.Silo(2).GetDirectoryGrain("dir-changes").GetChangesAsync(removed.Epoch, removed.Version);
        Assert.True(again.Full);
        Assert.NotEqual(removed.Epoch, again.Epoch);
        Assert.True(again.Version >= removed.Version, $"version went back from {removed.Version} to {again.Version}");
        Assert.Equal(["b", "c"], again.Tenants.Select(t => t.Tenant).Order(StringComparer.Ordinal));
        Assert.Equal(["10.0.0.0/8"], again.Tenants.Single(t => t.Tenant == "b").AllowedUpstreams!.Value);
    }

    [Fact]
    public async Task A_failed_shard_write_changes_nothing_an_edge_can_see()
    {
        const string ambassador = "dir-failed";
        var directory = fixture.Silo(1).GetDirectoryGrain(ambassador);
        await directory.PublishConnectionLimitAsync("f", 1);
        var before = await directory.GetChangesAsync(Guid.Empty, 0);

        fixture.Store.FailWrite(ListenerDirectoryGrain.ShardStateName, $"{ambassador}/{ListenerDirectoryGrain.ShardOf("f")}");
        await Assert.ThrowsAnyAsync<IOException>(() => directory.PublishConnectionLimitAsync("f", 2));
        Assert.Equal(before.Version, await directory.GetVersionAsync());
        Assert.Empty((await directory.GetChangesAsync(before.Epoch, before.Version)).Tenants);
        Assert.Equal(1, (await directory.GetAsync()).ConnectionLimits["f"]);

        // The publisher's retry goes through.
        await directory.PublishConnectionLimitAsync("f", 2);
        Assert.Equal(2, Assert.Single((await directory.GetChangesAsync(before.Epoch, before.Version)).Tenants).ConnectionLimit);
    }

    [Fact]
    public async Task A_directory_stored_inline_by_an_earlier_build_moves_its_tenants_to_shards()
    {
        const string ambassador = "dir-legacy";
        var serializer = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>();
        var grain = fixture.Silo(0).GetDirectoryGrain(ambassador).GetGrainId();
        fixture.Store.Put(serializer, "directory", grain, new DirectoryState
        {
            Version = 7,
            Listeners = new() { [$"{ambassador}/0.0.0.0:18991"] = 3 },
            Certificates = new() { ["old/default/tls"] = "h1" },
            ConnectionLimits = new() { ["old"] = 3 },
            AllowedUpstreams = new() { ["other"] = ["10.0.0.0/8"] },
        });

        var changes = await fixture.Silo(1).GetDirectoryGrain(ambassador).GetChangesAsync(Guid.Empty, 0);
        Assert.Equal(7, changes.Version);
        Assert.Single(changes.Listeners);
        var old = changes.Tenants.Single(t => t.Tenant == "old");
        Assert.Equal(3, old.ConnectionLimit);
        Assert.Equal(Secret("old"), Assert.Single(old.Certificates).Secret);
        Assert.Equal(["10.0.0.0/8"], changes.Tenants.Single(t => t.Tenant == "other").AllowedUpstreams!.Value);
        Assert.NotNull(fixture.Store.StoredBytes(ListenerDirectoryGrain.ShardStateName, $"{ambassador}/{ListenerDirectoryGrain.ShardOf("old")}"));

        // Read back by yet another activation: from the shards now, the same.
        await fixture.Silo(0).GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        var view = await fixture.Silo(2).GetDirectoryGrain(ambassador).GetAsync();
        Assert.Equal(3, view.ConnectionLimits["old"]);
        Assert.Equal("h1", Assert.Single(view.Certificates).Version);
        Assert.Equal(7, view.Version);
    }

    [Fact]
    public async Task An_edge_whose_snapshot_failed_asks_again_from_its_version_and_serves_the_tenants_limit_and_rules()
    {
        // The snapshot that first carries the tenant's last change (its limit, published after its upstream rules) is
        // refused by the data plane; an edge that moved its version on anyway would ask for changes after it and never
        // serve that change.
        const string tenant = "t-rules-retried";
        var refused = 0;
        var edge = new EdgeRouteCache(fixture.Silo(2), GatewayClusterFixture.AmbassadorId, (snapshot, _) =>
            snapshot.Plan.ConnectionLimits.ContainsKey(tenant) && Interlocked.Increment(ref refused) == 1
                ? throw new InvalidOperationException("the data plane refused the snapshot")
                : Task.CompletedTask,
            NullLogger<EdgeRouteCache>.Instance, pollInterval: TimeSpan.FromMilliseconds(100));
        await using (edge)
        {
            edge.Start();
            await Eventually.Get(() => Task.FromResult(edge.Current), s => s is not null, what: "the first snapshot");

            var grain = fixture.Silo(0).GetTenantGrain(tenant);
            await grain.SetQuotaAsync(new TenantQuota(AllowedUpstreams: ["10.0.0.0/8"], MaxConcurrentConnections: 2));
            var served = await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s!.Plan.ConnectionLimits.ContainsKey(tenant), what: "the tenant's limit and rules in the edge's plan");

            Assert.True(refused >= 1);
            var policy = served!.Plan.UpstreamPolicies[tenant];
            Assert.False(policy.AllowsAddress(IPAddress.Loopback));
            Assert.True(policy.AllowsAddress(IPAddress.Parse("10.1.2.3")));
            Assert.Equal(2, served.Plan.ConnectionLimits[tenant]);
        }
    }

    [Fact]
    public async Task An_edge_gets_what_changed_before_it_started_and_after_the_directory_was_reactivated()
    {
        const string tenant = "t-fresh-edge";
        var grain = fixture.Silo(0).GetTenantGrain(tenant);
        await grain.SetQuotaAsync(new TenantQuota(MaxConcurrentConnections: 4));
        var edge = new EdgeRouteCache(fixture.Silo(1), GatewayClusterFixture.AmbassadorId, (_, _) => Task.CompletedTask,
            NullLogger<EdgeRouteCache>.Instance, pollInterval: TimeSpan.FromMilliseconds(100));
        await using (edge)
        {
            edge.Start();
            var first = await Eventually.Get(() => Task.FromResult(edge.Current), s => s is not null, what: "the first snapshot");
            Assert.Equal(4, first!.Plan.ConnectionLimits[tenant]);

            // The directory's new activation has lost the edge's subscription and what changed when: the edge's next
            // poll gets everything (the limit stays), and a change after it reaches the edge.
            await fixture.Silo(0).GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
            await grain.SetQuotaAsync(new TenantQuota(MaxConcurrentConnections: 1));
            var lowered = await Eventually.Get(() => Task.FromResult(edge.Current),
                s => s!.Plan.ConnectionLimits.GetValueOrDefault(tenant) == 1, what: "the lowered limit");
            Assert.True(lowered!.DirectoryVersion > first.DirectoryVersion);

            await grain.SetQuotaAsync(TenantQuota.Unlimited);
            await Eventually.Get(() => Task.FromResult(edge.Current),
                s => !s!.Plan.ConnectionLimits.ContainsKey(tenant), what: "the limit removed");
        }
    }
}
