using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// Every endpoint of the app (read from its EndpointDataSource, so a new one cannot be forgotten) with no key, a
/// garbage key, a revoked key and another tenant's key: 401/403 and no change to either tenant.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AuthorizationTests(ApiGateway gateway)
{
    private const string Victim = "victim";
    private const string Intruder = "intruder";

    [Fact]
    public async Task Every_endpoint_refuses_missing_wrong_revoked_and_foreign_keys_and_changes_nothing()
    {
        var port = Ports.Free();
        var victimToken = await gateway.CreateTenantAsync(Victim, port);
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Victim}/resources", victimToken,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", port, "127.0.0.1:9")))).Status);
        var revoked = await gateway.IssueKeyAsync(Victim);
        Assert.Equal(HttpStatusCode.NoContent, (await gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/{Victim}/keys/{revoked.Split('.')[2]}", ApiGateway.AdminKey)).Status);
        var intruderToken = await gateway.CreateTenantAsync(Intruder);
        var keyId = victimToken.Split('.')[2];

        var before = (await gateway.SnapshotAsync(Victim), await gateway.SnapshotAsync(Intruder));
        var endpoints = Endpoints();
        Assert.True(endpoints.Count >= 17, $"only {endpoints.Count} endpoints found: {string.Join(", ", endpoints)}");

        var checkedCalls = 0;
        foreach (var (method, pattern) in endpoints)
        {
            var path = pattern
                .Replace("{tenant}", Victim, StringComparison.Ordinal)
                .Replace("{keyId}", keyId, StringComparison.Ordinal)
                .Replace("{kind}", "TCPMapping", StringComparison.Ordinal)
                .Replace("{namespace}", "default", StringComparison.Ordinal)
                .Replace("{name}", "db", StringComparison.Ordinal);
            path = System.Text.RegularExpressions.Regex.Replace(path, "\\{[^}]*\\}", "1");
            var isDashboard = path.StartsWith("/dashboard", StringComparison.Ordinal);
            var isMetrics = ApiSetup.MetricsPaths.Contains(pattern);

            foreach (var (key, expected, what) in new (string?, HttpStatusCode, string)[]
            {
                (null, HttpStatusCode.Unauthorized, "no key"),
                ("not-a-key", HttpStatusCode.Unauthorized, "a garbage key"),
                ("ogw.victim.0000abcd.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", HttpStatusCode.Unauthorized, "a forged key"),
                (revoked, HttpStatusCode.Unauthorized, "a revoked key"),

                // /status and /metrics take the metrics token and the admin key only: a tenant key is not one of them.
                (intruderToken, isMetrics ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden, "another tenant's key"),
                (ApiGateway.MetricsToken, HttpStatusCode.Forbidden, "the metrics token"),
            })
            {
                if ((pattern == "/api/v1/whoami" && key == intruderToken) || (isMetrics && key == ApiGateway.MetricsToken))
                {
                    continue; // any valid key may ask who it is (the answer is about itself); the metrics token reads /status and /metrics
                }

                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Body(method, path, port) };
                if (key is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                }

                using var response = await gateway.Http.SendAsync(request, TestContext.Current.CancellationToken);
                var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                Assert.True(response.StatusCode == expected, $"{method} {path} with {what}: {(int)response.StatusCode} {text}");
                if (expected == HttpStatusCode.Unauthorized)
                {
                    Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
                    if (isDashboard)
                    {
                        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
                    }
                }

                Assert.DoesNotContain("\"db\"", text);
                checkedCalls++;
            }
        }

        Assert.Equal(before, (await gateway.SnapshotAsync(Victim), await gateway.SnapshotAsync(Intruder)));
        Assert.True(checkedCalls >= endpoints.Count * 5);
        Assert.Contains(endpoints, e => e.Pattern == ApiSetup.StatusPath);
        Assert.Contains(endpoints, e => e.Pattern == ApiSetup.MetricsPath);
    }

    [Fact]
    public async Task A_tenant_key_reaches_its_own_tenant()
    {
        var token = await gateway.CreateTenantAsync("owner");
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/owner/resources", token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/owner/status", token)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/owner", token)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/no-such-tenant/resources", token)).Status);
    }

    /// <summary>A body that would change something if the call got through.</summary>
    private static StringContent? Body(string method, string path, int port)
    {
        if (method is not ("POST" or "PUT"))
        {
            return null;
        }

        if (path.EndsWith("/resources", StringComparison.Ordinal))
        {
            return ApiGateway.YamlBody(Yaml.TcpMapping("intruder", port, "127.0.0.1:9"));
        }

        var json = path switch
        {
            _ when path.EndsWith("/resources/delete", StringComparison.Ordinal) => "{\"resources\": [{\"kind\": \"TCPMapping\", \"name\": \"db\"}]}",
            _ when path.EndsWith("/keys", StringComparison.Ordinal) => "{\"description\": \"stolen\"}",
            "/api/v1/tenants" => "{\"name\": \"planted\"}",
            _ => "{\"quota\": {\"maxMappings\": 0}}",
        };
        return new StringContent(json, Encoding.UTF8, "application/json");
    }

    private List<(string Method, string Pattern)> Endpoints()
    {
        var source = gateway.Services.GetRequiredService<EndpointDataSource>();
        return [.. source.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw
                && (raw.StartsWith("/api/v1", StringComparison.Ordinal) || raw.StartsWith("/dashboard", StringComparison.Ordinal) || ApiSetup.MetricsPaths.Contains(raw))
                && raw != "/api/v1/openapi.json")
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (m, e.RoutePattern.RawText!)))
            .Distinct()];
    }
}
