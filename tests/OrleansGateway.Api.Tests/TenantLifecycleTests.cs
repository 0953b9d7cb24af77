using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OrleansGateway.Api.Tests.Infrastructure;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api.Tests;

/// <summary>Tenant create and delete leave nothing behind, and keys cost a grain call only when they may be valid.</summary>
[Collection(GatewayCollection.Name)]
public sealed class TenantLifecycleTests(ApiGateway gateway)
{
    private IGrainFactory Grains => gateway.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task After_a_delete_the_old_key_gets_401_and_the_tenant_holds_nothing()
    {
        var port = Ports.Free();
        var token = await gateway.CreateTenantAsync("gone", port);
        var (applied, _) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/gone/resources", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", port, "127.0.0.1:9")));
        Assert.Equal(HttpStatusCode.OK, applied);

        var (deleted, _) = await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/gone", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.NoContent, deleted);

        var (again, problem) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/gone/resources", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", port, "127.0.0.1:9")));
        Assert.Equal(HttpStatusCode.Unauthorized, again);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        var view = await Grains.GetTenantGrain("gone").GetAsync();
        Assert.Empty(view.Resources);
        Assert.Equal(TenantQuota.DenyAll, view.Quota);
        Assert.Null(await Grains.GetTenantRegistry().GetAsync("gone"));
    }

    /// <summary>
    /// The attacker holds the key of a tenant an admin is deleting and keeps applying while the delete runs, hoping one
    /// apply lands after it, when the tenant grain would be left unlimited (any port, any upstream) and unlisted. Every
    /// apply that gets in is deleted with the tenant, and one that passed the API's checks just before the delete and
    /// reaches the tenant grain after it (played here by calling the grain as the API would) is refused by the deny-all
    /// quota: nothing is stored, nothing is bound, and the tenant does not come back in the list.
    /// </summary>
    [Fact]
    public async Task An_apply_that_reaches_a_tenant_after_its_delete_is_refused_and_never_gets_an_unlimited_quota()
    {
        int port = Ports.Free(), elsewhere = Ports.Free();
        var token = await gateway.CreateTenantAsync("doomed", port);
        using var stop = new CancellationTokenSource();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var attacker = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                statuses.Add((await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/doomed/resources", token,
                    ApiGateway.YamlBody(Yaml.TcpMapping("race", port, "127.0.0.1:9")))).Status);

                // Under the per-key rate limit, so the applies keep getting in (and the admin's delete is not refused).
                await Task.Delay(60, CancellationToken.None);
            }
        }, TestContext.Current.CancellationToken);
        await Eventually.Until(() => statuses.Contains(HttpStatusCode.OK), "an attacker's apply to be stored before the delete");

        var (deleted, _) = await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/doomed", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.NoContent, deleted);
        await Eventually.Until(() => statuses.Contains(HttpStatusCode.Unauthorized), "the attacker's key to stop working");
        await stop.CancelAsync();
        await attacker;

        var grain = Grains.GetTenantGrain("doomed");
        Assert.Empty((await grain.GetAsync()).Resources);
        var late = await grain.ApplyAsync(new ApplyRequest(
            [new TcpMapping { Name = "late", Port = elsewhere, Service = "10.9.9.9:22" }], ApplyMode.Strict, "api"));
        Assert.False(late.Accepted);
        var view = await grain.GetAsync();
        Assert.Empty(view.Resources);
        Assert.Equal(TenantQuota.DenyAll, view.Quota);
        Assert.Null(await Grains.GetTenantRegistry().GetAsync("doomed"));
        Assert.DoesNotContain("\"doomed\"", (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", ApiGateway.AdminKey)).Body.ToString());
        Assert.False(await ListensAsync(elsewhere));
        await Eventually.Until(async () => !await ListensAsync(port), "the deleted tenant's port to be released");
    }

    private static async Task<bool> ListensAsync(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_create_whose_quota_cannot_be_stored_leaves_no_tenant_and_a_retry_succeeds()
    {
        gateway.Faults.FailWrite("tenant", "half-made");
        var request = new { name = "half-made", quota = new { maxListeners = 2 } };
        var (failed, problem) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey, ApiGateway.JsonBody(request));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed);
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain("injected", problem.ToString(), StringComparison.Ordinal);
        Assert.Contains(gateway.Log, l => l.Contains("injected failure", StringComparison.Ordinal));
        Assert.Null(await Grains.GetTenantRegistry().GetAsync("half-made"));

        var (created, body) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey, ApiGateway.JsonBody(request));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        Assert.Equal(2, body.GetProperty("quota").GetProperty("maxListeners").GetInt32());
    }

    [Fact]
    public async Task A_revoke_whose_write_fails_can_be_retried()
    {
        var token = await gateway.CreateTenantAsync("revoke-retry");
        var keyId = token.Split('.')[2];
        gateway.Faults.FailWrite("keys", "revoke-retry");
        var (failed, _) = await gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/revoke-retry/keys/{keyId}", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed);
        var (still, _) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token);
        Assert.Equal(HttpStatusCode.OK, still);

        var (revoked, _) = await gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/revoke-retry/keys/{keyId}", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.NoContent, revoked);
        var (refused, _) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token);
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
    }

    [Fact]
    public async Task The_admin_cannot_apply_to_a_tenant_that_is_not_registered()
    {
        var (status, _) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/never-made/resources", ApiGateway.AdminKey,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", Ports.Free(), "127.0.0.1:9")));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Empty((await Grains.GetTenantGrain("never-made").GetAsync()).Resources);
    }

    [Fact]
    public async Task Creating_a_name_whose_tenant_grain_has_leftovers_starts_clean()
    {
        // A delete that failed half way: resources and a key stored, no registry entry.
        var tenant = Grains.GetTenantGrain("leftover");
        var outcome = await tenant.ApplyAsync(new ApplyRequest([new TcpMapping { Name = "old", Port = Ports.Free(), Service = "127.0.0.1:9" }], ApplyMode.Strict, "api"));
        Assert.True(outcome.Accepted);
        await Grains.GetTenantKeysGrain("leftover").IssueAsync("old");
        Assert.True(await Grains.GetTenantRegistry().RemoveAsync("leftover"));

        var port = Ports.Free();
        var (created, body) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey,
            ApiGateway.JsonBody(new { name = "leftover", quota = new { allowedPorts = new[] { $"{port}" } } }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        Assert.Equal(0, body.GetProperty("resources").GetInt32());
        Assert.Equal(0, body.GetProperty("keys").GetInt32());
        Assert.Equal($"{port}", Assert.Single(body.GetProperty("quota").GetProperty("allowedPorts").EnumerateArray()).GetString());
        Assert.Empty((await tenant.GetAsync()).Resources);
    }

    [Fact]
    public async Task A_well_formed_token_of_an_unknown_tenant_gets_401_without_activating_its_keys_grain()
    {
        var token = $"ogw.no-such-tenant.0a1b2c3d.{new string('A', 43)}";
        var (status, _) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token);
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        // A reference is not an activation: it only gives the grain id to look for.
        var id = Grains.GetTenantKeysGrain("no-such-tenant").GetGrainId();
        var active = await Grains.GetGrain<IManagementGrain>(0).GetActiveGrains(id.Type, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(id, active);

        // The check can see an activation: a registered tenant's keys grain is asked (and is active) for the same token shape.
        await gateway.CreateTenantAsync("known-keys");
        var (known, _) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", $"ogw.known-keys.0a1b2c3d.{new string('A', 43)}");
        Assert.Equal(HttpStatusCode.Unauthorized, known);
        Assert.Contains(Grains.GetTenantKeysGrain("known-keys").GetGrainId(), await Grains.GetGrain<IManagementGrain>(0).GetActiveGrains(id.Type, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Paths_outside_the_API_ignore_any_Authorization_header(string path)
    {
        using var garbage = await gateway.SendAsync(HttpMethod.Get, path, "ogw.whatever.0a1b2c3d." + new string('A', 43));
        Assert.Equal(HttpStatusCode.OK, garbage.StatusCode);
        using var basic = new HttpRequestMessage(HttpMethod.Get, path);
        basic.Headers.TryAddWithoutValidation("Authorization", "Nonsense !!!");
        using var answer = await gateway.Http.SendAsync(basic, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }
}
