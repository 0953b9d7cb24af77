using System.Net;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// The extension annotations through the API (docs/tcpmapping-semantics.md, "Extensions"): the same loader as the
/// config directory and <c>ogw check</c>, so an unknown value is a 422 naming the annotation, and nothing is stored.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ExtensionAnnotationApiTests(ApiGateway gateway)
{
    private const string Tenant = "annotator";
    private static readonly int Port = Ports.Free();

    private static string Annotated(string name, string value) =>
        Yaml.TcpMapping(name, Port, "127.0.0.1:9").Replace($"  name: {name}\n",
            $"  name: {name}\n  annotations:\n    orleansgateway.io/proxy-protocol: {value}\n", StringComparison.Ordinal);

    [Theory]
    [InlineData("v3")]
    [InlineData("\"V1\"")]
    [InlineData("\"v2 \"")]
    [InlineData("\"\\u001b[31mv1\"")]
    public async Task An_unknown_proxy_protocol_value_is_422_naming_the_annotation_and_nothing_is_stored(string value)
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("good", Port, "127.0.0.1:9") + "\n" + Annotated("bad", value)));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "annotation.value");
        Assert.Equal("metadata.annotations.orleansgateway.io/proxy-protocol", diagnostic.GetProperty("field").GetString());
        Assert.Contains("orleansgateway.io/proxy-protocol", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(problem.ToString(), c => c is '\n' or '\r' or '\u001b');
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    [Fact]
    public async Task A_known_value_is_applied()
    {
        var token = await TokenAsync();

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(Annotated("sends-proxy", "\"v2\"")));

        Assert.True((int)status is >= 200 and < 300, $"{status}: {problem}");
    }

    [Fact]
    public async Task A_passthrough_annotation_without_host_is_422_naming_the_annotation_and_nothing_is_stored()
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);
        var hostless = Yaml.TcpMapping("hostless", Port, "127.0.0.1:9").Replace("  name: hostless\n",
            "  name: hostless\n  annotations:\n    orleansgateway.io/tls-passthrough: \"true\"\n", StringComparison.Ordinal);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token, ApiGateway.YamlBody(hostless));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "annotation.value");
        Assert.Equal("metadata.annotations.orleansgateway.io/tls-passthrough", diagnostic.GetProperty("field").GetString());
        Assert.Contains("needs spec.host", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    // Outlier ejection (docs/tcpmapping-semantics.md, "Outlier ejection"): members of one canary group on the port.
    private static string OutlierAnnotated(string name, string annotations) =>
        Yaml.TcpMapping(name, Port, "127.0.0.1:9", "  weight: 50").Replace($"  name: {name}\n",
            $"  name: {name}\n  annotations:\n{annotations}", StringComparison.Ordinal);

    [Theory]
    [InlineData("orleansgateway.io/outlier-detection", "    orleansgateway.io/outlier-detection: \"no\"\n")]
    [InlineData("orleansgateway.io/outlier-detection", "    orleansgateway.io/outlier-detection: \"\\u001b[31moff\"\n")]
    [InlineData("orleansgateway.io/health-check", "    orleansgateway.io/health-check: \"grpc\"\n")]
    [InlineData("orleansgateway.io/health-check-interval", "    orleansgateway.io/health-check: tcp\n    orleansgateway.io/health-check-interval: \"100ms\"\n")]
    [InlineData("orleansgateway.io/health-check-interval", "    orleansgateway.io/health-check-interval: \"5s\"\n")]
    public async Task An_unknown_outlier_or_health_check_value_is_422_naming_the_annotation_and_nothing_is_stored(string annotation, string annotations)
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(OutlierAnnotated("good", "    orleansgateway.io/outlier-detection: \"off\"\n") + "\n" + OutlierAnnotated("bad", annotations)));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "annotation.value");
        Assert.Equal("metadata.annotations." + annotation, diagnostic.GetProperty("field").GetString());
        Assert.Contains(annotation, diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(problem.ToString(), c => c is '\n' or '\r' or '\u001b');
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    [Fact]
    public async Task Known_outlier_and_health_check_values_are_applied()
    {
        var token = await TokenAsync();

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(OutlierAnnotated("checked", "    orleansgateway.io/health-check: \"tcp\"\n    orleansgateway.io/health-check-interval: \"5s\"\n")
                + "\n" + OutlierAnnotated("quiet", "    orleansgateway.io/outlier-detection: \"off\"\n")));

        Assert.True((int)status is >= 200 and < 300, $"{status}: {problem}");
    }

    private async Task<string> TokenAsync()
    {
        var (status, _) = await gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}", ApiGateway.AdminKey);
        return status == HttpStatusCode.OK ? await gateway.IssueKeyAsync(Tenant) : await gateway.CreateTenantAsync(Tenant, Port);
    }
}
