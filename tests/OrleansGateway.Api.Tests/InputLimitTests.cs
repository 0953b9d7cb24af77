using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// Bounded input through the real API (docs/api.md "Limits"): every cap answers a small 4xx naming the limit and
/// changes nothing, and the defaults bound a tenant the admin did not bound.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class InputLimitTests(ApiGateway gateway)
{
    private static readonly int Port = Ports.Free();

    [Fact]
    public async Task A_four_MiB_list_of_aliases_is_a_small_400_naming_the_node_limit()
    {
        var token = await TenantAsync("aliases");
        var body = new StringBuilder("apiVersion: v1\nkind: List\nitems:\n- &m {apiVersion: getambassador.io/v3alpha1, kind: TCPMapping, " +
            $"metadata: {{name: m}}, spec: {{port: {Port}, service: 127.0.0.1:9}}}}\n");
        while (body.Length < 4 * 1024 * 1024 - 16)
        {
            body.Append("- *m\n");
        }

        using var process = Process.GetCurrentProcess();
        var before = process.WorkingSet64;
        using var response = await gateway.SendAsync(HttpMethod.Post, "/api/v1/tenants/aliases/resources", token, ApiGateway.YamlBody(body.ToString()));
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var diagnostic = Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("yaml.syntax", diagnostic.GetProperty("code").GetString());
        Assert.Contains("more than 100000 nodes once its aliases (*name) are expanded", diagnostic.GetProperty("message").GetString());
        Assert.True(text.Length < 4096, $"the answer is {text.Length} characters");

        // Loose: the report of issue 14 saw the process grow by 830 MiB; parsing up to the limit takes a few tens.
        process.Refresh();
        Assert.True(process.WorkingSet64 - before < 300L * 1024 * 1024, $"grew by {(process.WorkingSet64 - before) / 1048576} MiB");
        Assert.Equal(0, await gateway.VersionAsync("aliases"));
    }

    [Fact]
    public async Task A_tenant_gets_the_default_limits_unless_the_admin_sets_them_or_null()
    {
        var (created, tenant) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey,
            new StringContent("""{"name": "limits-default", "quota": {"allowedPorts": ["7000"], "maxHosts": 5, "maxSecrets": null}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created);
        var quota = tenant.GetProperty("quota");
        Assert.Equal(1000, quota.GetProperty("maxResourcesPerApply").GetInt32());
        Assert.Equal(100, quota.GetProperty("maxListenerResources").GetInt32());
        Assert.Equal(5, quota.GetProperty("maxHosts").GetInt32());
        Assert.Equal(JsonValueKind.Null, quota.GetProperty("maxSecrets").ValueKind);
        Assert.Equal(10, quota.GetProperty("maxModules").GetInt32());
        Assert.Equal(4 * 1024 * 1024, quota.GetProperty("maxStateBytes").GetInt32());

        var (bad, problem) = await gateway.CallAsync(HttpMethod.Put, "/api/v1/tenants/limits-default", ApiGateway.AdminKey,
            ApiGateway.JsonBody(new { quota = new { maxStateBytes = "big" } }));
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("quota.maxStateBytes", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Each_kind_limit_is_a_422_naming_it_and_nothing_is_stored()
    {
        var token = await TenantAsync("kinds", new { allowedPorts = new[] { $"{Port}" }, allowedUpstreams = new[] { "127.0.0.0/8" }, allowedHosts = new[] { "*" }, maxHosts = 1, maxModules = 0 });
        var hosts = Host("a") + Host("b");
        var problem = await RefusedAsync("kinds", token, hosts, (HttpStatusCode)422);
        var limit = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal(("quota.kind", "Host default/b"), (limit.GetProperty("code").GetString(), limit.GetProperty("resource").GetString()));
        Assert.Contains("may have 1 Hosts (quota MaxHosts) and has 2", limit.GetProperty("message").GetString());

        var module = "apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {name: ambassador}\nspec: {config: {}}\n";
        var modules = await RefusedAsync("kinds", token, module, (HttpStatusCode)422);
        Assert.Contains("quota MaxModules", modules.GetProperty("diagnostics")[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_apply_over_the_per_apply_limit_is_refused_whole()
    {
        var token = await TenantAsync("per-apply", new { allowedPorts = new[] { $"{Port}" }, allowedUpstreams = new[] { "127.0.0.0/8" }, allowedHosts = new[] { "*" }, maxResourcesPerApply = 2 });
        var yaml = Yaml.TcpMapping("a", Port, "127.0.0.1:9", "  host: a.example") + "\n" + Yaml.TcpMapping("b", Port, "127.0.0.1:9", "  host: b.example") + "\n"
            + Yaml.TcpMapping("c", Port, "127.0.0.1:9", "  host: c.example");
        var problem = await RefusedAsync("per-apply", token, yaml, (HttpStatusCode)422);
        var limit = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("quota.apply-size", limit.GetProperty("code").GetString());
        Assert.Contains("sends 3 resources and tenant 'per-apply' may send 2 in one apply (quota MaxResourcesPerApply)", limit.GetProperty("message").GetString());
    }

    [Fact]
    public async Task State_over_its_byte_limit_is_refused_naming_the_limit()
    {
        var token = await TenantAsync("state", new { allowedPorts = new[] { $"{Port}" }, allowedUpstreams = new[] { "127.0.0.0/8" }, allowedHosts = new[] { "*" }, maxStateBytes = 4096 });
        var small = Yaml.TcpMapping("a", Port, "127.0.0.1:9");
        using (var accepted = await gateway.SendAsync(HttpMethod.Post, "/api/v1/tenants/state/resources", token, ApiGateway.YamlBody(small)))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        var big = string.Concat(Enumerable.Range(0, 40).Select(i => Yaml.TcpMapping($"m{i}", Port, "127.0.0.1:9", $"  host: m{i}.example") + "\n"));
        var problem = await RefusedAsync("state", token, big, (HttpStatusCode)422);
        var limit = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("quota.state-size", limit.GetProperty("code").GetString());
        Assert.Contains("may store 4096 (quota MaxStateBytes)", limit.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_answer_carries_a_hundred_diagnostics_and_counts_the_rest()
    {
        var token = await TenantAsync("many");
        var yaml = string.Concat(Enumerable.Range(0, 150).Select(i => $"---\napiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {{name: m{i}}}\nspec: {{port: {Port}}}\n"));
        var problem = await RefusedAsync("many", token, yaml, (HttpStatusCode)422);
        var diagnostics = problem.GetProperty("diagnostics").EnumerateArray().ToList();
        Assert.Equal(101, diagnostics.Count);
        Assert.Equal("diagnostics.truncated", diagnostics[^1].GetProperty("code").GetString());
        Assert.StartsWith("50 more diagnostic(s) are not shown", diagnostics[^1].GetProperty("message").GetString());
    }

    private static string Host(string name) =>
        $"---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {{name: {name}}}\nspec: {{hostname: {name}.example}}\n";

    private async Task<string> TenantAsync(string name, object? quota = null)
    {
        var (created, body) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", ApiGateway.AdminKey,
            ApiGateway.JsonBody(new { name, quota = quota ?? new { allowedPorts = new[] { $"{Port}" }, allowedUpstreams = new[] { "127.0.0.0/8" }, allowedHosts = new[] { "*" } } }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        return await gateway.IssueKeyAsync(name);
    }

    private async Task<JsonElement> RefusedAsync(string tenant, string token, string yaml, HttpStatusCode expected)
    {
        var before = await gateway.SnapshotAsync(tenant);
        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/resources", token, ApiGateway.YamlBody(yaml));
        Assert.True(status == expected, $"{status}: {problem}");
        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
        return problem;
    }
}
