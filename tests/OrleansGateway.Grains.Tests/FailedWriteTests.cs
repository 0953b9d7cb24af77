using System.Security.Cryptography;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// A write that storage refuses leaves the activation as storage holds it: the shared test store fails one chosen
/// write, as an outage of the real store would.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FailedWriteTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task A_failed_revoke_leaves_the_key_working_and_the_retry_revokes_it()
    {
        var keys = fixture.Silo(0).GetTenantKeysGrain("fw-keys");
        var issued = await keys.IssueAsync("k");
        Assert.True(ApiToken.TryParse(issued.Token, out _, out var id, out var secret));

        fixture.Store.FailWrite("keys", "fw-keys");
        await Assert.ThrowsAnyAsync<Exception>(() => keys.RevokeAsync(id));
        Assert.True(await keys.VerifyAsync(id, SHA256.HashData(secret)));

        Assert.True(await keys.RevokeAsync(id));
        Assert.False(await keys.VerifyAsync(id, SHA256.HashData(secret)));
    }

    [Fact]
    public async Task A_failed_issue_leaves_no_key()
    {
        var keys = fixture.Silo(1).GetTenantKeysGrain("fw-issue");
        fixture.Store.FailWrite("keys", "fw-issue");
        await Assert.ThrowsAnyAsync<Exception>(() => keys.IssueAsync("k"));
        Assert.Empty(await keys.ListAsync());
    }

    [Fact]
    public async Task A_failed_registry_create_or_remove_leaves_the_list_as_stored()
    {
        var registry = fixture.Silo(0).GetTenantRegistry();
        fixture.Store.FailWrite("tenants", AccessGrains.RegistryKey);
        await Assert.ThrowsAnyAsync<Exception>(() => registry.CreateAsync("fw-reg"));
        Assert.Null(await registry.GetAsync("fw-reg"));

        Assert.True(await registry.CreateAsync("fw-reg"));
        fixture.Store.FailWrite("tenants", AccessGrains.RegistryKey);
        await Assert.ThrowsAnyAsync<Exception>(() => registry.RemoveAsync("fw-reg"));
        Assert.NotNull(await registry.GetAsync("fw-reg"));
        Assert.True(await registry.RemoveAsync("fw-reg"));
    }

    [Fact]
    public async Task A_failed_quota_or_apply_write_leaves_the_tenant_as_stored()
    {
        var tenant = fixture.Silo(2).GetTenantGrain("fw-tenant");
        var limited = new TenantQuota(MaxListeners: 3);
        fixture.Store.FailWrite("tenant", "fw-tenant");
        await Assert.ThrowsAnyAsync<Exception>(() => tenant.SetQuotaAsync(limited));
        Assert.Equal(TenantQuota.Unlimited, (await tenant.GetAsync()).Quota);

        fixture.Store.FailWrite("tenant", "fw-tenant");
        await Assert.ThrowsAnyAsync<Exception>(() => tenant.ApplyAsync(Res.Strict(Res.Mapping("fw", 18900))));
        var view = await tenant.GetAsync();
        Assert.Empty(view.Resources);
        Assert.Equal(0, view.Version);
    }

    [Fact]
    public async Task A_failed_listener_write_leaves_the_listener_without_the_claim()
    {
        var key = ListenerKey.For(GatewayClusterFixture.AmbassadorId, new ListenerEndpoint("0.0.0.0", 18910));
        var listener = fixture.Silo(0).GetListenerGrain(key);
        var before = await listener.GetSliceAsync();
        fixture.Store.FailWrite("listener", key.Value);
        await Assert.ThrowsAnyAsync<Exception>(() => fixture.Silo(1).GetTenantGrain("fw-listener").ApplyAsync(Res.Strict(Res.Mapping("l", 18910))));

        var after = await listener.GetSliceAsync();
        Assert.Equal(before.Version, after.Version);
        Assert.Null(after.Plan?.CatchAll);
        Assert.Empty((await fixture.Silo(0).GetTenantGrain("fw-listener").GetAsync()).Resources);

        // Another tenant can take the port: no phantom claim of the failed one blocks it.
        Assert.True((await fixture.Silo(2).GetTenantGrain("fw-listener-b").ApplyAsync(Res.Strict(Res.Mapping("b", 18910)))).Accepted);
    }
}
