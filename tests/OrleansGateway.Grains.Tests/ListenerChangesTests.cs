using System.Text.Json;
using Orleans.Runtime;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// What an edge fetches from a shared listener (docs/control-plane.md, "Edges fetch what changed"): the parts of the
/// tenants that changed since its version, or every part when the grain cannot diff against that version. Every step
/// checks the edge's copy, built only from what it was sent, against the listener the grain merges from all its claims.
/// The calls go through silos other than the grain's, so the changes cross the serializer.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ListenerChangesTests(GatewayClusterFixture fixture)
{
    private static ListenerKey Key(int port) => ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port));

    [Fact]
    public async Task A_change_of_one_tenant_sends_that_tenants_part_only_and_the_copy_stays_the_merged_listener()
    {
        const int port = 18720;
        var listener = fixture.Silo(1).GetListenerGrain(Key(port));
        for (var i = 1; i <= 3; i++)
        {
            await ApplyAsync($"t-delta-{i}", port, $"h{i}.delta.test");
        }

        var first = await listener.GetChangesAsync(Guid.Empty, -1);
        Assert.True(first.Full);
        Assert.Equal(["t-delta-1", "t-delta-2", "t-delta-3"], first.Changed.Select(p => p.Tenant).Order(StringComparer.Ordinal));
        var copy = await SameAsMergedAsync(listener, ListenerAssembly.Empty, first);

        // Tenant 2 moves its route: only its part comes; the other tenants' routes in the copy are the objects it had.
        await ApplyAsync("t-delta-2", port, "h2.delta.test", service: "127.0.0.1:10");
        var second = await listener.GetChangesAsync(first.Lineage, first.Version);
        Assert.False(second.Full);
        Assert.Equal("t-delta-2", Assert.Single(second.Changed).Tenant);
        Assert.Empty(second.Removed);
        var before = copy;
        copy = await SameAsMergedAsync(listener, copy, second);
        foreach (var tenant in new[] { "t-delta-1", "t-delta-3" })
        {
            Assert.Same(before.Parts[tenant].Plan.SniRoutes[0], copy.Routes.Single(r => r.Route.Upstreams[0].Tenant == tenant));
        }

        // Nothing new: nothing sent.
        var none = await listener.GetChangesAsync(second.Lineage, second.Version);
        Assert.False(none.Full);
        Assert.Empty(none.Changed);
        Assert.Empty(none.Removed);

        // Two changes while the edge was away (it missed a version): both come in one answer.
        await ApplyAsync("t-delta-1", port, "h1.delta.test", service: "127.0.0.1:11");
        await ClearAsync(2, "t-delta-3");
        var gap = await listener.GetChangesAsync(second.Lineage, second.Version);
        Assert.False(gap.Full);
        Assert.Equal("t-delta-1", Assert.Single(gap.Changed).Tenant);
        Assert.Equal("t-delta-3", Assert.Single(gap.Removed));
        copy = await SameAsMergedAsync(listener, copy, gap);
        Assert.Equal(["h1.delta.test", "h2.delta.test"], copy.Routes.Select(r => r.Host.Text));

        // The last tenant leaves and one comes back: the listener empties, then is the new tenant's alone.
        await ClearAsync(0, "t-delta-1");
        await ClearAsync(0, "t-delta-2");
        var emptied = await listener.GetChangesAsync(gap.Lineage, gap.Version);
        Assert.Equal(["t-delta-1", "t-delta-2"], emptied.Removed.Order(StringComparer.Ordinal));
        copy = await SameAsMergedAsync(listener, copy, emptied);
        Assert.Null(copy.Plan);

        await ApplyAsync("t-delta-3", port, "h3.delta.test");
        var back = await listener.GetChangesAsync(emptied.Lineage, emptied.Version);
        Assert.Equal("t-delta-3", Assert.Single(back.Changed).Tenant);
        await SameAsMergedAsync(listener, copy, back);
    }

    [Fact]
    public async Task An_edge_whose_version_the_grain_cannot_diff_against_gets_every_part()
    {
        const int port = 18721;
        var listener = fixture.Silo(2).GetListenerGrain(Key(port));
        await ApplyAsync("t-full-1", port, "a.full.test");
        await ApplyAsync("t-full-2", port, "b.full.test");
        var known = await listener.GetChangesAsync(Guid.Empty, -1);

        // A version of another activation (or of a state lost and begun again), and a version the grain never had.
        foreach (var changes in new[]
        {
            await listener.GetChangesAsync(Guid.NewGuid(), known.Version),
            await listener.GetChangesAsync(known.Lineage, known.Version + 5),
        })
        {
            Assert.True(changes.Full);
            Assert.Equal(2, changes.Changed.Length);
            await SameAsMergedAsync(listener, ListenerAssembly.Empty, changes);
        }

        // The grain is deactivated: what was removed before its new activation is not known there, so every part comes.
        await fixture.Silo(0).GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        var reactivated = await listener.GetChangesAsync(known.Lineage, known.Version);
        Assert.True(reactivated.Full);
        Assert.NotEqual(known.Lineage, reactivated.Lineage);
        Assert.Equal(known.Version, reactivated.Version);
        await SameAsMergedAsync(listener, ListenerAssembly.Empty, reactivated);

        // From the new activation on, changes are diffed again.
        await ClearAsync(1, "t-full-1");
        var after = await listener.GetChangesAsync(reactivated.Lineage, reactivated.Version);
        Assert.False(after.Full);
        Assert.Equal("t-full-1", Assert.Single(after.Removed));
    }

    /// <summary>
    /// An attacker tenant tries, change after change, to take names a victim routes: in other spellings, with a glob
    /// over them, with <c>*</c>. Each step the edge's copy (built from the changes alone) equals the merged listener, and
    /// every name the victim holds is routed to the victim's upstream with the victim's certificate.
    /// </summary>
    [Fact]
    public async Task An_attacker_never_takes_a_victims_name_across_a_sequence_of_changes()
    {
        const int port = 18722;
        var listener = fixture.Silo(0).GetListenerGrain(Key(port));
        await ApplyAsync("t-victim", port, "*.victim.test", service: "127.0.0.1:21");
        var changes = await listener.GetChangesAsync(Guid.Empty, -1);
        var copy = await SameAsMergedAsync(listener, ListenerAssembly.Empty, changes);

        var steps = new (string Tenant, string Host, bool Accepted)[]
        {
            ("t-attacker", "shop.victim.test", false),
            ("t-attacker", "*.VICTIM.test.", false),
            ("t-attacker", "*", false),
            ("t-attacker", "attacker.test", true),
            ("t-victim", "*.victim.test", true),      // the victim changes its upstream meanwhile
            ("t-attacker", "*.victim.test", false),
            ("t-attacker", "pay.victim.test", false),
        };
        foreach (var (tenant, host, accepted) in steps)
        {
            var outcome = await ApplyAsync(tenant, port, host, service: tenant == "t-victim" ? "127.0.0.1:22" : "127.0.0.1:66", expectAccepted: accepted);
            Assert.Equal(accepted, outcome.Accepted);
            changes = await listener.GetChangesAsync(changes.Lineage, changes.Version);
            Assert.False(changes.Full);
            copy = await SameAsMergedAsync(listener, copy, changes);
            var victims = copy.Routes.Where(r => r.Host.Text.EndsWith("victim.test", StringComparison.Ordinal)).ToList();
            Assert.Equal("*.victim.test", Assert.Single(victims).Host.Text);
            Assert.All(victims, r => Assert.Equal("t-victim", r.Termination!.Certificate.Tenant));
            Assert.All(victims, r => Assert.Equal("t-victim", Assert.Single(r.Route.Upstreams).Tenant));
            Assert.DoesNotContain(copy.Routes, r => r.Host.Text == "*");
        }

        // The victim gives up its glob for one name: only then may the attacker route another name of that domain.
        await ApplyAsync("t-victim", port, "pay.victim.test", service: "127.0.0.1:22");
        await ApplyAsync("t-attacker", port, "shop.victim.test", service: "127.0.0.1:66");
        var refused = await ApplyAsync("t-victim", port, "*.victim.test", service: "127.0.0.1:22", expectAccepted: false);
        Assert.False(refused.Accepted);
        changes = await listener.GetChangesAsync(changes.Lineage, changes.Version);
        copy = await SameAsMergedAsync(listener, copy, changes);
        Assert.Equal("t-victim", copy.Routes.Single(r => r.Host.Text == "pay.victim.test").Route.Upstreams[0].Tenant);
        Assert.Equal("t-attacker", copy.Routes.Single(r => r.Host.Text == "shop.victim.test").Route.Upstreams[0].Tenant);
    }

    /// <summary>Applies <paramref name="changes"/> to <paramref name="copy"/> and checks it against the grain's merged listener.</summary>
    private static async Task<ListenerAssembly> SameAsMergedAsync(IListenerGrain listener, ListenerAssembly copy, ListenerChanges changes)
    {
        var next = (changes.Full ? ListenerAssembly.Empty : copy).With(changes.Changed, changes.Removed);
        var merged = await listener.GetSliceAsync();
        Assert.Equal(merged.Version, changes.Version);
        Assert.Equal(Json(merged.Plan), Json(next.Plan));
        return next;
    }

    /// <summary>Deletes every resource of the tenant (what the config directory does when its directory is removed).</summary>
    private async Task ClearAsync(int silo, string tenant) =>
        Assert.True((await fixture.Silo(silo).GetTenantGrain(tenant).ApplyAsync(new ApplyRequest([], ApplyMode.Strict, "api", Prune: true))).Accepted);

    private static string Json(ListenerPlan? plan) => JsonSerializer.Serialize(plan);

    /// <summary>The tenant's whole configuration: one TLS Host for <paramref name="host"/> and one mapping of it on the port.</summary>
    private async Task<ApplyOutcome> ApplyAsync(string tenant, int port, string host, string service = "127.0.0.1:9", bool expectAccepted = true)
    {
        var (crt, key, _) = Res.SelfSigned(host);
        var outcome = await fixture.Silo(0).GetTenantGrain(tenant).ApplyAsync(Res.Strict(
            new HostResource { Name = "host", Hostname = host, TlsSecretName = "cert" },
            new SecretResource { Name = "cert", Type = "kubernetes.io/tls", ApiVersion = "v1", TlsCrt = crt, TlsKey = key },
            Res.Mapping("route", port, host: host, service: service)));
        Assert.True(outcome.Accepted == expectAccepted, string.Join("\n", outcome.Diagnostics));
        return outcome;
    }
}
