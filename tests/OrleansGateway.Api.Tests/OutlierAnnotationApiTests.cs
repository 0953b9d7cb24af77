using System.Net;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// The outlier-ejection annotations through the API (docs/tcpmapping-semantics.md, "Outlier ejection"): the loader of
/// the config directory and <c>ogw check</c>, so an unknown value is a 422 naming the annotation and nothing is stored.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class OutlierAnnotationApiTests(ApiGateway gateway)
{
    private const string Tenant = "outlier-annotator";
    private static readonly int Port = Ports.Free();

    private static string Annotated(string name, string annotations) =>
        Yaml.TcpMapping(name, Port, "127.0.0.1:9", "  weight: 50").Replace($"  name: {name}\n",
            $"  name: {name}\n  annotations:\n{annotations}", StringComparison.Ordinal);

    [Theory]
    [InlineData("orleansgateway.io/outlier-detection", "    orleansgateway.io/outlier-detection: \"no\"\n")]
    [InlineData("orleansgateway.io/outlier-detection", "    orleansgateway.io/outlier-detection: \"\\u001b[31moff\"\n")]
    [InlineData("orleansgateway.io/health-check", "    orleansgateway.io/health-check: \"grpc\"\n")]
    [InlineData("orleansgateway.io/health-check-interval", "    orleansgateway.io/health-check: tcp\n    orleansgateway.io/health-check-interval: \"100ms\"\n")]
    [InlineData("orleansgateway.io/health-check-interval", "    orleansgateway.io/health-check-interval: \"5s\"\n")]
    public async Task An_unknown_value_is_422_naming_the_annotation_and_nothing_is_stored(string annotation, string annotations)
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(Annotated("good", "    orleansgateway.io/outlier-detection: \"off\"\n") + "\n" + Annotated("bad", annotations)));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "annotation.value");
        Assert.Equal("metadata.annotations." + annotation, diagnostic.GetProperty("field").GetString());
        Assert.Contains(annotation, diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(problem.ToString(), c => c is '\n' or '\r' or '\u001b');
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    [Fact]
    public async Task Known_values_are_applied()
    {
        var token = await TokenAsync();

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(Annotated("checked", "    orleansgateway.io/health-check: \"tcp\"\n    orleansgateway.io/health-check-interval: \"5s\"\n")
                + "\n" + Annotated("quiet", "    orleansgateway.io/outlier-detection: \"off\"\n")));

        Assert.True((int)status is >= 200 and < 300, $"{status}: {problem}");
    }

    private async Task<string> TokenAsync()
    {
        var (status, _) = await gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}", ApiGateway.AdminKey);
        return status == HttpStatusCode.OK ? await gateway.IssueKeyAsync(Tenant) : await gateway.CreateTenantAsync(Tenant, Port);
    }
}
