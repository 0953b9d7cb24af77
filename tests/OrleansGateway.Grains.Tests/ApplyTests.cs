using Microsoft.Extensions.Logging.Abstractions;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>Apply, refuse, delete, prune and quota through the tenant grain, on the shared 3-silo cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ApplyTests(GatewayClusterFixture fixture)
{
    private static ListenerKey Key(int port) => ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", port));

    [Fact]
    public async Task Apply_on_one_silo_is_served_by_every_edge_with_its_certificate()
    {
        var resources = Res.TlsHost("served", "a.served.test", out var certificate);
        var mapping = Res.Mapping("served-tls", 18443, host: "a.served.test");
        var outcome = await fixture.Silo(0).GetTenantGrain("t-served").ApplyAsync(Res.Strict([.. resources, mapping]));
        Assert.True(outcome.Accepted, string.Join("\n", outcome.Diagnostics));
        Assert.All(outcome.Statuses, s => Assert.Equal(ResourceState.Accepted, s.State));

        for (var i = 0; i < 3; i++)
        {
            var slice = await fixture.Silo(i).GetListenerGrain(Key(18443)).GetSliceAsync();
            Assert.Equal("a.served.test", Assert.Single(slice.Plan!.SniRoutes).Host.Text);
        }

        var edges = Enumerable.Range(0, 3).Select(i => new EdgeRouteCache(
            fixture.Silo(i), GatewayClusterFixture.AmbassadorId, (_, _) => Task.CompletedTask, NullLogger<EdgeRouteCache>.Instance)).ToList();
        try
        {
            edges.ForEach(e => e.Start());
            foreach (var edge in edges)
            {
                var snapshot = await Eventually.Get(() => Task.FromResult(edge.Current),
                    s => s?.Plan.Listeners.Any(l => l.SniRoutes.Any(r => r.Host.Text == "a.served.test")) == true, what: "the route at the edge");
                var route = snapshot!.Plan.Listeners.Single(l => l.Endpoint.Port == 18443).SniRoutes.Single();
                Assert.Equal("t-served", route.Termination!.Certificate.Tenant);
                Assert.Equal(certificate.Thumbprint, snapshot.Certificates.GetCertificate(route.Termination!.Certificate)?.Thumbprint);
                Assert.True(edge.IsConnected);
                Assert.NotNull(edge.LastSuccessfulRefresh);
            }
        }
        finally
        {
            foreach (var edge in edges)
            {
                await edge.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Strict_apply_with_one_bad_resource_is_refused_and_nothing_is_persisted()
    {
        var tenant = fixture.Silo(1).GetTenantGrain("t-strict");
        var first = Res.Mapping("first", 18100);
        Assert.True((await tenant.ApplyAsync(Res.Strict(first))).Accepted);
        var before = await tenant.GetAsync();

        var good = Res.Mapping("good", 18101);
        var bad = Res.Mapping("bad", 18102, service: "up:70000");
        var outcome = await tenant.ApplyAsync(Res.Strict(good, bad));

        Assert.False(outcome.Accepted);
        Assert.Equal(ResourceState.Discarded, outcome.StatusOf(bad).State);
        Assert.Contains(outcome.Diagnostics, d => d.Resource == bad.Ref && d.Severity == Severity.Error);
        var after = await tenant.GetAsync();
        Assert.Equal(before.Version, after.Version);
        Assert.Equal([first.Ref], after.Resources.Select(r => r.Resource.Ref));
        Assert.Null((await fixture.Silo(2).GetListenerGrain(Key(18101)).GetSliceAsync()).Plan);
    }

    [Fact]
    public async Task Dry_run_reports_without_persisting()
    {
        var tenant = fixture.Silo(0).GetTenantGrain("t-dry");
        var mapping = Res.Mapping("dry", 18110);
        var outcome = await tenant.ApplyAsync(Res.Strict(mapping) with { DryRun = true });

        Assert.True(outcome.Accepted);
        Assert.Equal(ResourceState.Accepted, outcome.StatusOf(mapping).State);
        Assert.Empty((await tenant.GetAsync()).Resources);
        Assert.Null((await fixture.Silo(0).GetListenerGrain(Key(18110)).GetSliceAsync()).Plan);
    }

    [Fact]
    public async Task Per_resource_apply_stores_the_bad_one_discarded_and_serves_the_good_one()
    {
        var tenant = fixture.Silo(2).GetTenantGrain("t-per-resource");
        var good = Res.Mapping("good", 18120);
        var bad = Res.Mapping("bad", 18121, service: "up:70000");
        var outcome = await tenant.ApplyAsync(Res.PerResource(good, bad));

        Assert.True(outcome.Accepted);
        var view = await tenant.GetAsync();
        Assert.Equal(ResourceState.Accepted, view.StatusOf(good).State);
        Assert.Equal(ResourceState.Discarded, view.StatusOf(bad).State);
        Assert.Contains(view.StatusOf(bad).Messages, m => m.Contains("70000", StringComparison.Ordinal));
        Assert.NotNull((await fixture.Silo(0).GetListenerGrain(Key(18120)).GetSliceAsync()).Plan);
        Assert.Null((await fixture.Silo(0).GetListenerGrain(Key(18121)).GetSliceAsync()).Plan);
    }

    [Fact]
    public async Task Prune_deletes_what_a_source_no_longer_sends_and_keeps_other_sources()
    {
        var tenant = fixture.Silo(0).GetTenantGrain("t-prune");
        var fromApi = Res.Mapping("from-api", 18130);
        var kept = Res.Mapping("kept", 18131);
        var dropped = Res.Mapping("dropped", 18132);
        Assert.True((await tenant.ApplyAsync(Res.Strict(fromApi))).Accepted);
        Assert.True((await tenant.ApplyAsync(Res.PerResource(kept, dropped) with { Prune = true })).Accepted);

        await tenant.ApplyAsync(Res.PerResource(kept) with { Prune = true });

        var view = await tenant.GetAsync();
        Assert.Equal(["from-api", "kept"], view.Resources.Select(r => r.Resource.Name).Order(StringComparer.Ordinal));
        Assert.Null((await fixture.Silo(1).GetListenerGrain(Key(18132)).GetSliceAsync()).Plan);
        Assert.NotNull((await fixture.Silo(1).GetListenerGrain(Key(18131)).GetSliceAsync()).Plan);
    }

    [Fact]
    public async Task Quota_refuses_other_ports_extra_mappings_and_extra_listeners_naming_the_limit()
    {
        var tenant = fixture.Silo(1).GetTenantGrain("t-quota");
        await tenant.SetQuotaAsync(new TenantQuota(AllowedPorts: [new PortRange(18140, 18149)], MaxListeners: 1, MaxMappings: 2));

        var outside = await tenant.ApplyAsync(Res.Strict(Res.Mapping("outside", 18150)));
        Assert.False(outside.Accepted);
        Assert.Contains("AllowedPorts", Assert.Single(outside.Statuses).Messages.Single(), StringComparison.Ordinal);

        var tooMany = await tenant.ApplyAsync(Res.Strict(Res.Mapping("m1", 18140), Res.Mapping("m2", 18140), Res.Mapping("m3", 18140)));
        Assert.False(tooMany.Accepted);
        Assert.Contains(tooMany.Diagnostics, d => d.Code == "quota.mappings" && d.Resource!.Name == "m3" && d.Message.Contains("MaxMappings", StringComparison.Ordinal));

        var twoListeners = await tenant.ApplyAsync(Res.Strict(Res.Mapping("m1", 18140), Res.Mapping("m2", 18141)));
        Assert.False(twoListeners.Accepted);
        Assert.Contains(twoListeners.Diagnostics, d => d.Code == "quota.listeners" && d.Resource!.Name == "m2" && d.Message.Contains("MaxListeners", StringComparison.Ordinal));

        Assert.Empty((await tenant.GetAsync()).Resources);
        Assert.True((await tenant.ApplyAsync(Res.Strict(Res.Mapping("m1", 18140)))).Accepted);
    }

    [Fact]
    public async Task A_quota_with_an_impossible_port_range_is_refused()
    {
        var tenant = fixture.Silo(2).GetTenantGrain("t-bad-quota");
        var error = await Assert.ThrowsAsync<ArgumentException>(() => tenant.SetQuotaAsync(new TenantQuota(AllowedPorts: [new PortRange(9000, 8000)])));
        Assert.Contains("9000-8000", error.Message, StringComparison.Ordinal);
        Assert.Null((await tenant.GetAsync()).Quota.AllowedPorts);
    }

    [Fact]
    public async Task A_tenants_mapping_cannot_use_another_tenants_TLSContext_or_Host()
    {
        var (crt, key, _) = Res.SelfSigned("x.scope.test");
        var owner = fixture.Silo(0).GetTenantGrain("t-scope-owner");
        Assert.True((await owner.ApplyAsync(Res.Strict(
            new SecretResource { Name = "scope-cert", ApiVersion = "v1", Type = "kubernetes.io/tls", TlsCrt = crt, TlsKey = key },
            new TlsContextResource { Name = "scope-ctx", Hosts = ["x.scope.test"], Secret = "scope-cert" }))).Accepted);

        var other = fixture.Silo(1).GetTenantGrain("t-scope-other");
        var terminate = Res.Mapping("terminate", 18160, host: "x.scope.test");
        var originate = Res.Mapping("originate", 18161, service: "up.example:443", tls: "scope-ctx");
        var outcome = await other.ApplyAsync(Res.PerResource(terminate, originate));

        Assert.Equal(ResourceState.Discarded, outcome.StatusOf(terminate).State);
        Assert.Contains(outcome.StatusOf(terminate).Messages, m => m.Contains("no Host or TLSContext provides a certificate", StringComparison.Ordinal));
        Assert.Equal(ResourceState.Discarded, outcome.StatusOf(originate).State);
        Assert.Null((await fixture.Silo(2).GetListenerGrain(Key(18160)).GetSliceAsync()).Plan);
    }
}
