using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>Every bad body answers 4xx with a problem saying what to fix, and persists nothing: docs/api.md "Errors".</summary>
[Collection(GatewayCollection.Name)]
public sealed class BadInputTests(ApiGateway gateway)
{
    private const string Tenant = "bad";
    private const string Path = "/api/v1/tenants/bad/resources";

    private static readonly int Port = Ports.Free();

    private string? _token;

    [Fact]
    public async Task Body_over_4_MiB_is_413()
    {
        var yaml = Yaml.TcpMapping("big", Port, "127.0.0.1:9") + "# " + new string('x', 4 * 1024 * 1024) + "\n";
        var problem = await RefusedAsync(ApiGateway.YamlBody(yaml), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("4 MiB", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Wrong_content_type_is_415_naming_the_accepted_ones()
    {
        var problem = await RefusedAsync(new StringContent(Yaml.TcpMapping("db", Port, "127.0.0.1:9"), Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/yaml", problem.GetProperty("detail").GetString());
        Assert.Contains("application/vnd.ogw.files+json", problem.GetProperty("detail").GetString());

        // The admin JSON endpoints take JSON only.
        using var response = await gateway.SendAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey, new StringContent("name: x", Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Empty_body_is_400()
    {
        var problem = await RefusedAsync(ApiGateway.YamlBody(""), HttpStatusCode.BadRequest);
        Assert.Contains("empty", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Yaml_that_does_not_parse_is_400_naming_file_document_and_line()
    {
        var yaml = Yaml.TcpMapping("good", Port, "127.0.0.1:9") + "---\nkind: TCPMapping\nmetadata: {name: [unclosed\n";
        var problem = await RefusedAsync(ApiGateway.YamlBody(yaml), HttpStatusCode.BadRequest);
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("yaml.syntax", diagnostic.GetProperty("code").GetString());
        Assert.Equal("request body", diagnostic.GetProperty("file").GetString());
        Assert.Equal(1, diagnostic.GetProperty("document").GetInt32());
        Assert.True(diagnostic.GetProperty("line").GetInt32() >= 9, diagnostic.ToString());
    }

    [Fact]
    public async Task Bad_file_in_a_files_body_is_named()
    {
        var body = new { files = new[] { new { path = "dir/a.yaml", content = Yaml.TcpMapping("a", Port, "127.0.0.1:9") }, new { path = "dir/b.yaml", content = "kind: [\n" } } };
        var problem = await RefusedAsync(new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/vnd.ogw.files+json"), HttpStatusCode.BadRequest);
        Assert.Equal("dir/b.yaml", Assert.Single(problem.GetProperty("diagnostics").EnumerateArray()).GetProperty("file").GetString());

        var broken = await RefusedAsync(new StringContent("{\"files\": [{\"path\": 1}]}", Encoding.UTF8, "application/vnd.ogw.files+json"), HttpStatusCode.BadRequest);
        Assert.Contains("files", broken.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unknown_kind_is_400()
    {
        var yaml = Yaml.TcpMapping("db", Port, "127.0.0.1:9") + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n";
        var problem = await RefusedAsync(ApiGateway.YamlBody(yaml), HttpStatusCode.BadRequest);
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("kind.unknown", diagnostic.GetProperty("code").GetString());
        Assert.Contains("'Service'", diagnostic.GetProperty("message").GetString());
        Assert.Equal(1, diagnostic.GetProperty("document").GetInt32());
    }

    [Fact]
    public async Task Same_resource_twice_is_400()
    {
        var yaml = Yaml.TcpMapping("db", Port, "127.0.0.1:9") + Yaml.TcpMapping("db", Port, "127.0.0.1:10");
        var problem = await RefusedAsync(ApiGateway.YamlBody(yaml), HttpStatusCode.BadRequest);
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("resource.duplicate", diagnostic.GetProperty("code").GetString());
        Assert.Equal("TCPMapping default/db", diagnostic.GetProperty("resource").GetString());
    }

    [Fact]
    public async Task Discarded_resource_is_422_with_diagnostics()
    {
        var yaml = Yaml.TcpMapping("ok", Port, "127.0.0.1:9") + "---\napiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata:\n  name: noservice\nspec:\n  port: " + Port + "\n";
        var problem = await RefusedAsync(ApiGateway.YamlBody(yaml), (HttpStatusCode)422);
        Assert.Contains(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("resource").GetString() == "TCPMapping default/noservice" && d.GetProperty("field").GetString() == "spec.service");
    }

    [Fact]
    public async Task Quota_limits_are_422_naming_the_limit()
    {
        var other = Ports.Free();
        var ports = await RefusedAsync(ApiGateway.YamlBody(Yaml.TcpMapping("db", other, "127.0.0.1:9")), (HttpStatusCode)422);
        var message = Assert.Single(ports.GetProperty("diagnostics").EnumerateArray()).GetProperty("message").GetString();
        Assert.Contains("AllowedPorts", message);
        Assert.Contains($"port {other}", message);

        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Put, $"/api/v1/tenants/{Tenant}", ApiGateway.AdminKey,
            ApiGateway.JsonBody(new { quota = new { allowedPorts = new[] { $"{Port}" }, allowedUpstreams = new[] { "127.0.0.1" }, allowedHosts = new[] { "*" }, maxMappings = 1 } }))).Status);
        var mappings = await RefusedAsync(ApiGateway.YamlBody(Yaml.TcpMapping("a", Port, "127.0.0.1:9") + Yaml.TcpMapping("b", Port, "127.0.0.1:9", "  host: b.example")), (HttpStatusCode)422);
        var limit = Assert.Single(mappings.GetProperty("diagnostics").EnumerateArray()).GetProperty("message").GetString();
        Assert.Contains("MaxMappings", limit);
        Assert.Contains("may have 1", limit);
    }

    [Fact]
    public async Task Bad_tenant_bodies_are_400_and_change_nothing()
    {
        await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);
        (object Body, string Says)[] cases =
        [
            (new { name = "Not_A_Label" }, "DNS label"),
            (new { name = "ok-name", quota = new { allowedPorts = new[] { "70000" } } }, "allowedPorts[0]"),
            (new { name = "ok-name", quota = new { maxListeners = -1 } }, "maxListeners"),
            (new { name = "ok-name", quotas = new { } }, "quotas"),
            (new { }, "name"),
        ];
        foreach (var (body, says) in cases)
        {
            var (status, problem) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey, ApiGateway.JsonBody(body));
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(says, problem.GetProperty("detail").GetString());
        }

        using var notJson = await gateway.SendAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey, new StringContent("{\"name\": ", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await gateway.CallAsync(HttpMethod.Put, $"/api/v1/tenants/{Tenant}", ApiGateway.AdminKey, ApiGateway.JsonBody(new { quota = new { maxMappings = -3 } }))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/ok-name", ApiGateway.AdminKey)).Status);
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
    }

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_problems()
    {
        using var missing = await gateway.SendAsync(HttpMethod.Get, "/api/v1/nothing-here", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        using var method = await gateway.SendAsync(HttpMethod.Patch, "/api/v1/tenants", ApiGateway.AdminKey);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.StatusCode);
    }

    /// <summary>Applies <paramref name="content"/> with the tenant's key, expects <paramref name="expected"/> and an unchanged tenant.</summary>
    private async Task<JsonElement> RefusedAsync(HttpContent content, HttpStatusCode expected)
    {
        var token = await TokenAsync();
        var before = await gateway.SnapshotAsync(Tenant);
        using var response = await gateway.SendAsync(HttpMethod.Post, Path, token, content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
        Assert.Equal(new MediaTypeHeaderValue("application/problem+json").MediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await gateway.SnapshotAsync(Tenant));
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    private async Task<string> TokenAsync()
    {
        if (_token is null)
        {
            var (status, _) = await gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}", ApiGateway.AdminKey);
            _token = status == HttpStatusCode.OK ? await gateway.IssueKeyAsync(Tenant) : await gateway.CreateTenantAsync(Tenant, Port);
        }

        return _token;
    }
}
