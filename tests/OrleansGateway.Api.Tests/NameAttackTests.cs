using System.Net;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// A tenant sends names Kubernetes would refuse (docs/resource-model.md, "Names"): 422 naming the field, and nothing
/// is persisted, whichever kind or endpoint carries them.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class NameAttackTests(ApiGateway gateway)
{
    private const string Tenant = "namer";
    private static readonly int Port = Ports.Free();

    public static TheoryData<string, string> Attacks => new()
    {
        { Yaml.TcpMapping("bad_name", Port, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("\"bad\\nname\"", Port, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("\"evil\\r\\n2026-01-01 crit: forged\"", Port, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("Upper", Port, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping(new string('a', 254), Port, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("ok\n  namespace: bad_ns", Port, "127.0.0.1:9"), "metadata.namespace" },
        { Yaml.TcpMapping("ok\n  namespace: Default", Port, "127.0.0.1:9"), "metadata.namespace" },
        { "apiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Secret}\ntype: Opaque\nstringData: {token: x}\n", "metadata.name" },
        { "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: web, namespace: \"a.b\"}\nspec: {hostname: a.example}\n", "metadata.namespace" },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task A_resource_named_otherwise_is_422_naming_the_field_and_nothing_is_stored(string yaml, string field)
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("good", Port, "127.0.0.1:9") + "\n" + (yaml.StartsWith("---", StringComparison.Ordinal) ? yaml : "---\n" + yaml)));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "field.name");
        Assert.Equal(field, diagnostic.GetProperty("field").GetString());
        Assert.Equal("request body", diagnostic.GetProperty("file").GetString());
        Assert.Equal(1, diagnostic.GetProperty("document").GetInt32());
        Assert.DoesNotContain(problem.ToString(), c => c is '\n' or '\r');
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    [Fact]
    public async Task A_JSON_resource_is_checked_the_same_way()
    {
        var token = await TokenAsync();
        var body = JsonSerializer.Serialize(new
        {
            apiVersion = "getambassador.io/v3alpha1",
            kind = "TCPMapping",
            metadata = new { name = "json_name" },
            spec = new { port = Port, service = "127.0.0.1:9" },
        });

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", token,
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal((HttpStatusCode)422, status);
        Assert.Contains(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("field").GetString() == "metadata.name");
    }

    [Theory]
    [InlineData("bad_name", null)]
    [InlineData("bad\nname", null)]
    [InlineData("web-tls", "bad_ns")]
    public async Task An_uploaded_certificate_is_named_as_a_Secret_is(string name, string? ns)
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/certificates", token,
            ApiGateway.JsonBody(new { name, @namespace = ns, pem = "-----BEGIN CERTIFICATE-----" }));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        Assert.Contains("DNS-1123", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    private async Task<string> TokenAsync()
    {
        var (status, _) = await gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}", ApiGateway.AdminKey);
        return status == HttpStatusCode.OK ? await gateway.IssueKeyAsync(Tenant) : await gateway.CreateTenantAsync(Tenant, Port);
    }
}
