using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

[Collection(GatewayCollection.Name)]
public sealed class DashboardOpenApiAndLogTests(ApiGateway gateway)
{
    [Fact]
    public async Task Dashboard_is_for_the_admin_only()
    {
        using (var anonymous = await gateway.Http.GetAsync("/dashboard/", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Contains(anonymous.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }

        var tenant = await gateway.CreateTenantAsync("peeker");
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.SendAsync(HttpMethod.Get, "/dashboard/", tenant)).StatusCode);

        using var bearer = await gateway.SendAsync(HttpMethod.Get, "/dashboard/", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Contains("<html", await bearer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.OrdinalIgnoreCase);

        using var basic = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + ApiGateway.AdminKey)));
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.SendAsync(basic, TestContext.Current.CancellationToken)).StatusCode);

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:guess")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.SendAsync(wrong, TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_lists_every_route_without_a_key()
    {
        using var response = await gateway.Http.GetAsync("/api/v1/openapi.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        var paths = document.GetProperty("paths").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateObject().Select(o => o.Name).ToHashSet());
        (string Path, string Method)[] expected =
        [
            ("/api/v1/whoami", "get"),
            ("/api/v1/tenants", "get"), ("/api/v1/tenants", "post"),
            ("/api/v1/tenants/{tenant}", "get"), ("/api/v1/tenants/{tenant}", "put"), ("/api/v1/tenants/{tenant}", "delete"),
            ("/api/v1/tenants/{tenant}/keys", "get"), ("/api/v1/tenants/{tenant}/keys", "post"), ("/api/v1/tenants/{tenant}/keys/{keyId}", "delete"),
            ("/api/v1/tenants/{tenant}/resources", "post"), ("/api/v1/tenants/{tenant}/resources", "get"),
            ("/api/v1/tenants/{tenant}/resources/{kind}/{namespace}/{name}", "get"), ("/api/v1/tenants/{tenant}/resources/{kind}/{namespace}/{name}", "delete"),
            ("/api/v1/tenants/{tenant}/resources/delete", "post"), ("/api/v1/tenants/{tenant}/status", "get"),
        ];
        foreach (var (path, method) in expected)
        {
            Assert.True(paths.TryGetValue(path, out var methods) && methods.Contains(method), $"{method} {path} is not in the OpenAPI document");
        }

        Assert.DoesNotContain(paths.Keys, p => !p.StartsWith("/api/v1/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admin_key_and_issued_tokens_never_reach_the_log()
    {
        var token = await gateway.CreateTenantAsync("logged");
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", token + "x")).Status);
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", ApiGateway.AdminKey)).Status);

        var log = string.Join("\n", gateway.Log);
        Assert.Contains("key " + token.Split('.')[2] + " issued", log);
        Assert.DoesNotContain(ApiGateway.AdminKey, log);
        Assert.DoesNotContain(token.Split('.')[3], log);
    }
}
