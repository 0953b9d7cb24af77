using System.Net;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>Tenants and keys with the admin key: docs/api.md "Tenants (admin)".</summary>
[Collection(GatewayCollection.Name)]
public sealed class AdminFlowTests(ApiGateway gateway)
{
    private const string Admin = ApiGateway.AdminKey;

    [Fact]
    public async Task Tenant_lifecycle_create_get_list_update_delete()
    {
        var (created, tenant) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", Admin,
            ApiGateway.JsonBody(new { name = "acme", quota = new { allowedPorts = new object[] { "7000-7099", 8443 }, maxListeners = 2, maxMappings = 3 } }));
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal("acme", tenant.GetProperty("name").GetString());
        Assert.Equal(["7000-7099", "8443"], tenant.GetProperty("quota").GetProperty("allowedPorts").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, tenant.GetProperty("quota").GetProperty("maxListeners").GetInt32());
        Assert.Equal(JsonValueKind.Null, tenant.GetProperty("quota").GetProperty("maxConcurrentConnections").ValueKind);
        Assert.Equal(0, tenant.GetProperty("resources").GetInt32());
        Assert.True(tenant.GetProperty("createdAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));

        using (var response = await gateway.SendAsync(HttpMethod.Post, "/api/v1/tenants", Admin, ApiGateway.JsonBody(new { name = "acme" })))
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var (listed, list) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", Admin);
        Assert.Equal(HttpStatusCode.OK, listed);
        var names = list.EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Contains("acme", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        var (updated, after) = await gateway.CallAsync(HttpMethod.Put, "/api/v1/tenants/acme", Admin,
            ApiGateway.JsonBody(new { quota = new { maxConcurrentConnections = 5, allowedPorts = (string[]?)null } }));
        Assert.Equal(HttpStatusCode.OK, updated);
        Assert.Equal(5, after.GetProperty("quota").GetProperty("maxConcurrentConnections").GetInt32());

        // The whole quota is replaced: null is unlimited, an absent list grants nothing, an absent number is no limit.
        Assert.Equal(JsonValueKind.Null, after.GetProperty("quota").GetProperty("allowedPorts").ValueKind);
        Assert.Empty(after.GetProperty("quota").GetProperty("allowedUpstreams").EnumerateArray());
        Assert.Empty(after.GetProperty("quota").GetProperty("allowedHosts").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("quota").GetProperty("maxListeners").ValueKind);

        Assert.Equal(HttpStatusCode.NoContent, (await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/acme", Admin)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/acme", Admin)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/acme", Admin)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Put, "/api/v1/tenants/acme", Admin, ApiGateway.JsonBody(new { quota = new { } }))).Status);
    }

    [Fact]
    public async Task Config_directory_tenants_are_listed()
    {
        var found = await Eventually.TrueAsync(async () =>
        {
            var (_, list) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", Admin);
            return list.EnumerateArray().Any(t => t.GetProperty("name").GetString() == ApiGateway.ConfigTenant && t.GetProperty("resources").GetInt32() == 1);
        }, TimeSpan.FromSeconds(10));
        Assert.True(found, "the config directory's tenant is not listed with its resource");
    }

    [Fact]
    public async Task Keys_are_issued_once_listed_without_secret_and_revoked_at_once()
    {
        var token = await gateway.CreateTenantAsync("keyed");
        Assert.Matches("^ogw\\.keyed\\.[0-9a-f]{8}\\.[A-Za-z0-9_-]{43}$", token);
        var keyId = token.Split('.')[2];

        var (_, whoami) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token);
        Assert.Equal("tenant", whoami.GetProperty("role").GetString());
        Assert.Equal("keyed", whoami.GetProperty("tenant").GetString());
        Assert.Equal(keyId, whoami.GetProperty("keyId").GetString());
        Assert.Equal("admin", (await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", Admin)).Body.GetProperty("role").GetString());

        var (listed, keys) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/keyed/keys", Admin);
        Assert.Equal(HttpStatusCode.OK, listed);
        var key = Assert.Single(keys.EnumerateArray());
        Assert.Equal(keyId, key.GetProperty("id").GetString());
        Assert.Equal("test", key.GetProperty("description").GetString());
        Assert.DoesNotContain(token.Split('.')[3], keys.ToString());
        Assert.Equal(["id", "description", "createdAt"], key.EnumerateObject().Select(p => p.Name));

        Assert.Equal(HttpStatusCode.NoContent, (await gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/keyed/keys/{keyId}", Admin)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/keyed/keys/{keyId}", Admin)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/nobody/keys", Admin)).Status);
    }

    [Fact]
    public async Task Deleting_a_tenant_removes_its_keys_and_frees_its_ports_for_another_tenant()
    {
        var port = Ports.Free();
        var first = await gateway.CreateTenantAsync("first", port);
        var second = await gateway.CreateTenantAsync("second", port);
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/first/resources", first,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", port, "127.0.0.1:9")))).Status);

        var (refused, problem) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/second/resources", second,
            ApiGateway.YamlBody(Yaml.TcpMapping("mine", port, "127.0.0.1:9")));
        Assert.Equal((HttpStatusCode)422, refused);
        Assert.DoesNotContain("'db'", problem.ToString());

        Assert.Equal(HttpStatusCode.NoContent, (await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/first", Admin)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/first/resources", first)).Status);
        Assert.DoesNotContain("\"first\"", (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", Admin)).Body.ToString());

        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/second/resources", second,
            ApiGateway.YamlBody(Yaml.TcpMapping("mine", port, "127.0.0.1:9")))).Status);

        // A tenant created again under the deleted name starts empty, with the quota of its request (none: deny-all).
        var (created, again) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", Admin, ApiGateway.JsonBody(new { name = "first" }));
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal(0, again.GetProperty("resources").GetInt32());
        Assert.Equal(0, again.GetProperty("keys").GetInt32());
        Assert.Empty(again.GetProperty("quota").GetProperty("allowedPorts").EnumerateArray());
    }
}
