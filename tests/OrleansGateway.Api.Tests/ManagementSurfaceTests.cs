using System.Globalization;
using System.Net;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// The process's own endpoints as an anonymous client and a tenant would try them (docs/api.md, "Serving the API"):
/// /healthz and /readyz answer anyone and name no tenant; /status and /metrics need the metrics token or the admin key.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ManagementSurfaceTests(ApiGateway gateway)
{
    [Theory]
    [InlineData("/status")]
    [InlineData("/metrics")]
    public async Task Status_and_metrics_answer_the_metrics_token_and_the_admin_key_and_nobody_else(string path)
    {
        var tenantKey = await gateway.CreateTenantAsync("scraper-" + path.Trim('/'));
        foreach (var (key, what) in new (string?, string)[] { (null, "no key"), ("not-the-token-0123456789", "a wrong token"), (tenantKey, "a tenant key") })
        {
            using var refused = await gateway.SendAsync(HttpMethod.Get, path, key);
            var body = await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{path} with {what}: {(int)refused.StatusCode} {body}");
            Assert.Contains(refused.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
            Assert.Contains("metrics token", body, StringComparison.Ordinal);

            // Nothing of any tenant in a refusal: not the config directory's tenant, not its port.
            Assert.DoesNotContain(ApiGateway.ConfigTenant, body, StringComparison.Ordinal);
            Assert.DoesNotContain(gateway.ConfigPort.ToString(CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
        }

        foreach (var key in new[] { ApiGateway.MetricsToken, ApiGateway.AdminKey })
        {
            using var allowed = await gateway.SendAsync(HttpMethod.Get, path, key);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        // What the refusals withheld is really there: /status lists the config directory's tenant.
        if (path == "/status")
        {
            using var status = await gateway.SendAsync(HttpMethod.Get, path, ApiGateway.MetricsToken);
            Assert.Contains(ApiGateway.ConfigTenant, await status.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_metrics_token_opens_nothing_of_the_API_or_the_dashboard()
    {
        foreach (var path in new[] { "/api/v1/whoami", "/api/v1/tenants", $"/api/v1/tenants/{ApiGateway.ConfigTenant}/status", "/dashboard/" })
        {
            var (status, body) = await gateway.CallAsync(HttpMethod.Get, path, ApiGateway.MetricsToken);
            Assert.True(status == HttpStatusCode.Forbidden, $"{path}: {(int)status} {body}");
        }
    }

    [Fact]
    public async Task Healthz_and_readyz_answer_anyone_and_name_no_tenant()
    {
        foreach (var path in new[] { "/healthz", "/readyz" })
        {
            using var response = await gateway.SendAsync(HttpMethod.Get, path, key: null);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
            Assert.DoesNotContain(ApiGateway.ConfigTenant, body, StringComparison.Ordinal);
            Assert.DoesNotContain(gateway.ConfigPort.ToString(CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
        }

        using var readyz = await gateway.SendAsync(HttpMethod.Get, "/readyz", key: null);
        using var json = JsonDocument.Parse(await readyz.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.True(json.RootElement.GetProperty("ready").GetBoolean());
    }
}
