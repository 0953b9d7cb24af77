using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>Cross-tenant arbitration on shared listeners: the first owner keeps its port, catch-all or SNI name.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TenantIsolationTests(GatewayClusterFixture fixture)
{
    private static ListenerKey Key(int port) => ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port));

    [Fact]
    public async Task A_cleartext_port_of_one_tenant_is_refused_to_another_without_naming_its_resources()
    {
        var a = fixture.Silo(0).GetTenantGrain("t-clear-a");
        var b = fixture.Silo(1).GetTenantGrain("t-clear-b");
        Assert.True((await a.ApplyAsync(Res.Strict(Res.Mapping("a-private-ssh", 18200, service: "a-secret-upstream:22")))).Accepted);

        var mine = Res.Mapping("b-ssh", 18200);
        var strict = await b.ApplyAsync(Res.Strict(mine));
        Assert.False(strict.Accepted);
        var message = Assert.Single(strict.StatusOf(mine).Messages);
        Assert.Contains("another tenant", message, StringComparison.Ordinal);
        Assert.DoesNotContain("a-private-ssh", message, StringComparison.Ordinal);
        Assert.DoesNotContain("a-secret-upstream", message, StringComparison.Ordinal);
        Assert.Empty((await b.GetAsync()).Resources);

        // A source that cannot be refused stores it Discarded with the same reason; A's route is untouched.
        await b.ApplyAsync(Res.PerResource(mine));
        Assert.Equal(ResourceState.Discarded, (await b.GetAsync()).StatusOf(mine).State);
        var slice = await fixture.Silo(2).GetListenerGrain(Key(18200)).GetSliceAsync();
        Assert.Equal("a-private-ssh", Assert.Single(slice.Plan!.CatchAll!.Upstreams).Mapping.Name);
    }

    [Fact]
    public async Task The_same_SNI_host_is_refused_to_a_second_tenant()
    {
        await ClaimHostAsync("t-same-a", 18210, "db.same.test", expectAccepted: true);
        var outcome = await ClaimHostAsync("t-same-b", 18210, "db.same.test", expectAccepted: false);
        Assert.Contains(outcome.Diagnostics, d => d.Code == "listener.claim-refused"
            && d.Message.Contains("host db.same.test on 0.0.0.0:18210 overlaps a name another tenant already routes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(18220, "*.glob.test", "a.glob.test")]
    [InlineData(18221, "a.glob.test", "*.glob.test")]
    [InlineData(18222, "*", "b.glob.test")]
    [InlineData(18223, "b.glob.test", "*")]
    [InlineData(18224, "*.glob.test", "*.deep.glob.test")]
    public async Task A_glob_and_a_name_it_covers_belong_to_one_tenant_in_both_directions(int port, string first, string second)
    {
        await ClaimHostAsync($"t-glob-{port}-a", port, first, expectAccepted: true);
        await ClaimHostAsync($"t-glob-{port}-b", port, second, expectAccepted: false);
        var slice = await fixture.Silo(0).GetListenerGrain(Key(port)).GetSliceAsync();
        Assert.Equal(first, Assert.Single(slice.Plan!.SniRoutes).Host.Text);
    }

    /// <summary>
    /// Issue 12's attack through the grains: B writes the name A routes in another spelling (trailing dot, case, IDN as
    /// Unicode or A-label) or an exact name under A's glob; before host names were canonical this was accepted and B
    /// took A's clients. Now B's Strict apply is refused without naming A, a PerResource apply stores the mapping
    /// Discarded, and the listener keeps serving only A's route.
    /// </summary>
    [Theory]
    [InlineData(18260, "*.a.test", "*.a.test.")]
    [InlineData(18261, "*.a.test", "*.A.TEST")]
    [InlineData(18262, "*.bücher.test", "*.xn--bcher-kva.test")]
    [InlineData(18263, "*.xn--bcher-kva.test", "*.BÜCHER.test.")]
    [InlineData(18264, "*.a.test", "shop.a.test.")]
    [InlineData(18265, "shop.a.test", "SHOP.A.TEST.")]
    public async Task Another_spelling_of_a_routed_name_is_refused_to_a_second_tenant(int port, string first, string second)
    {
        var (a, b) = ($"t-spell-{port}-a", $"t-spell-{port}-b");
        var (aResources, aMapping) = HostAndMapping("a-route", port, first);
        Assert.True((await fixture.Silo(0).GetTenantGrain(a).ApplyAsync(Res.Strict([.. aResources, aMapping]))).Accepted);

        var (bResources, bMapping) = HostAndMapping("b-route", port, second);
        var tenantB = fixture.Silo(1).GetTenantGrain(b);
        var strict = await tenantB.ApplyAsync(Res.Strict([.. bResources, bMapping]));
        Assert.False(strict.Accepted);
        var message = strict.StatusOf(bMapping).Messages.Last();
        Assert.Contains("overlaps a name another tenant already routes", message, StringComparison.Ordinal);
        Assert.DoesNotContain("a-route", message, StringComparison.Ordinal);
        Assert.DoesNotContain(a, message, StringComparison.Ordinal);
        Assert.Empty((await tenantB.GetAsync()).Resources);

        await tenantB.ApplyAsync(Res.PerResource([.. bResources, bMapping]));
        Assert.Equal(ResourceState.Discarded, (await tenantB.GetAsync()).StatusOf(bMapping).State);

        var route = Assert.Single((await fixture.Silo(2).GetListenerGrain(Key(port)).GetSliceAsync()).Plan!.SniRoutes);
        Assert.Equal(HostPattern.Parse(first), route.Host);
        Assert.Equal(a, route.Termination!.Certificate.Tenant);
        Assert.Equal("a-route", Assert.Single(route.Route.Upstreams).Mapping.Name);
    }

    [Fact]
    public async Task Two_tenants_with_different_names_share_a_TLS_port()
    {
        await ClaimHostAsync("t-share-a", 18230, "a.share.test", expectAccepted: true);
        await ClaimHostAsync("t-share-b", 18230, "b.share.test", expectAccepted: true);

        var slice = await fixture.Silo(2).GetListenerGrain(Key(18230)).GetSliceAsync();
        Assert.True(slice.Plan!.TlsInspected);
        Assert.Equal(["a.share.test", "b.share.test"], slice.Plan.SniRoutes.Select(r => r.Host.Text));
        Assert.Equal(["t-share-a", "t-share-b"], slice.Plan.SniRoutes.Select(r => r.Termination!.Certificate.Tenant));
    }

    [Fact]
    public async Task A_host_less_catch_all_on_a_shared_TLS_port_belongs_to_one_tenant()
    {
        await ClaimHostAsync("t-catch-a", 18240, "a.catch.test", expectAccepted: true, extra: Res.Mapping("a-fallback", 18240));
        var b = fixture.Silo(1).GetTenantGrain("t-catch-b");
        var hosts = Res.TlsHost("b-host", "b.catch.test", out _);
        var outcome = await b.ApplyAsync(Res.Strict([.. hosts, Res.Mapping("b-sni", 18240, host: "b.catch.test"), Res.Mapping("b-fallback", 18240)]));

        Assert.False(outcome.Accepted);
        Assert.Contains("catch-all", outcome.Statuses.Single(s => s.Resource.Name == "b-fallback").Messages.Last(), StringComparison.Ordinal);
        Assert.Equal(ResourceState.Accepted, outcome.Statuses.Single(s => s.Resource.Name == "b-sni").State);
    }

    [Fact]
    public async Task Deleting_a_mapping_releases_its_claim_for_another_tenant()
    {
        var a = fixture.Silo(0).GetTenantGrain("t-release-a");
        var b = fixture.Silo(2).GetTenantGrain("t-release-b");
        var held = Res.Mapping("held", 18250);
        Assert.True((await a.ApplyAsync(Res.Strict(held))).Accepted);
        Assert.False((await b.ApplyAsync(Res.Strict(Res.Mapping("wanted", 18250)))).Accepted);

        var deleted = await a.DeleteAsync(new DeleteRequest([held.Ref], ApplyMode.Strict));
        Assert.True(deleted.Accepted);
        Assert.Empty(deleted.Statuses);
        Assert.Null((await fixture.Silo(1).GetListenerGrain(Key(18250)).GetSliceAsync()).Plan);

        Assert.True((await b.ApplyAsync(Res.Strict(Res.Mapping("wanted", 18250)))).Accepted);
        var slice = await fixture.Silo(1).GetListenerGrain(Key(18250)).GetSliceAsync();
        Assert.Equal("wanted", Assert.Single(slice.Plan!.CatchAll!.Upstreams).Mapping.Name);
    }

    /// <summary>A Host for <paramref name="host"/> (written as given) with its Secret, and a mapping for the same host.</summary>
    private static (ImmutableArray<Resource> Resources, TcpMapping Mapping) HostAndMapping(string name, int port, string host)
    {
        var (crt, key, _) = Res.SelfSigned(name + ".test");
        return (
            [
                new HostResource { Name = name, Hostname = host, TlsSecretName = name + "-cert" },
                new SecretResource { Name = name + "-cert", Type = "kubernetes.io/tls", ApiVersion = "v1", TlsCrt = crt, TlsKey = key },
            ],
            Res.Mapping(name, port, host: host));
    }

    private async Task<ApplyOutcome> ClaimHostAsync(string tenant, int port, string host, bool expectAccepted, Resource? extra = null)
    {
        var name = tenant + "-" + host.Replace("*", "any", StringComparison.Ordinal).Replace('.', '-');
        var resources = Res.TlsHost(name, host, out _);
        var mapping = Res.Mapping(name + "-route", port, host: host);
        var outcome = await fixture.Silo(port % 3).GetTenantGrain(tenant)
            .ApplyAsync(Res.Strict([.. resources, mapping, .. extra is null ? Array.Empty<Resource>() : [extra]]));
        Assert.True(expectAccepted == outcome.Accepted, string.Join("\n", outcome.Diagnostics));
        if (!expectAccepted)
        {
            var message = outcome.StatusOf(mapping).Messages.Last();
            Assert.Contains("another tenant", message, StringComparison.Ordinal);
            Assert.DoesNotContain(tenant[..^1] + "a", message, StringComparison.Ordinal);
        }

        return outcome;
    }
}
