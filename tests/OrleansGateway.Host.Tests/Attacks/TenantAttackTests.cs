using System.Net;
using System.Text.Json;

namespace OrleansGateway.Host.Tests.Attacks;

/// <summary>
/// Tenant B (and a client without any key) against tenant A's API paths, A's certificate, the quota's secure default
/// and the name rules (docs/security.md, "Secure defaults", "Management surface"; docs/resource-model.md, "Names"):
/// refused with a 4xx that names the field or the rule and never reveals A; nothing changes and nothing is served.
/// </summary>
[Collection(AttackCollection.Name)]
public sealed class TenantAttackTests(AttackedGateway gateway)
{
    [Fact]
    public async Task A_tenant_created_without_a_quota_can_bind_claim_and_reach_nothing()
    {
        await using var server = new RecordingUpstream();
        var (created, tenant) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", AttackedGateway.AdminKey,
            AttackedGateway.JsonBody(new { name = "no-quota" }));
        Assert.Equal(HttpStatusCode.Created, created);
        foreach (var list in new[] { "allowedPorts", "allowedUpstreams", "allowedHosts" })
        {
            Assert.Equal(JsonValueKind.Array, tenant.GetProperty("quota").GetProperty(list).ValueKind);
            Assert.Empty(tenant.GetProperty("quota").GetProperty(list).EnumerateArray());
        }

        var (_, issued) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/no-quota/keys", AttackedGateway.AdminKey, AttackedGateway.JsonBody(new { }));
        var token = issued.GetProperty("token").GetString()!;
        var port = Ports.Free();
        var mapping = Yaml.TcpMapping("db", port, $"127.0.0.1:{server.Port}");

        var (status, problem) = await gateway.ApplyAsync("no-quota", token, mapping);
        Assert.True(status == (HttpStatusCode)422, $"{status} {problem}");
        Assert.Contains("quota AllowedPorts", problem.ToString(), StringComparison.Ordinal);

        // {"quota": {...}} without a list grants nothing for it: the port alone still reaches nothing.
        Assert.Equal(HttpStatusCode.OK, (await gateway.CallAsync(HttpMethod.Put, "/api/v1/tenants/no-quota", AttackedGateway.AdminKey,
            AttackedGateway.JsonBody(new { quota = new { allowedPorts = new[] { $"{port}" } } }))).Status);
        (status, problem) = await gateway.ApplyAsync("no-quota", token, mapping);
        Assert.True(status == (HttpStatusCode)422, $"{status} {problem}");
        Assert.Contains("quota.upstreams", AttackedGateway.Codes(problem));
        Assert.Contains("quota AllowedUpstreams", problem.ToString(), StringComparison.Ordinal);

        Assert.Null(await AttackedGateway.ExchangeAsync(port, "anyone?"));
        Assert.Equal(0, server.Connections);
    }

    /// <summary>Tenant A's paths, with tenant B's key: (method, path under /api/v1/tenants/victim-a).</summary>
    public static TheoryData<string, string> VictimPaths => new()
    {
        { "GET", "/resources" },
        { "GET", "/resources/TCPMapping/default/plain-a" },
        { "POST", "/resources" },
        { "DELETE", "/resources/TCPMapping/default/plain-a" },
        { "POST", "/resources/delete" },
        { "GET", "/status" },
        { "GET", "/certificates" },
        { "GET", "/certificates/cert-a" },
        { "POST", "/certificates/cert-a/refresh" },
        { "GET", "/keys" },
        { "POST", "/keys" },
        { "GET", "" },
        { "PUT", "" },
        { "DELETE", "" },
    };

    [Theory]
    [MemberData(nameof(VictimPaths))]
    public async Task Another_tenants_key_on_a_tenants_paths_is_403_and_reveals_nothing(string method, string path)
    {
        var intruder = $"intruder-{Ports.Free()}";
        var token = await gateway.AttackerAsync(intruder, ["127.0.0.0/8"]);
        var before = await gateway.SnapshotAsync(AttackedGateway.Victim);
        HttpContent? Body() => method is "POST" or "PUT"
            ? path == "/resources"
                ? AttackedGateway.YamlBody(Yaml.TcpMapping("plain-a", gateway.VictimPort, "127.0.0.1:9"))
                : AttackedGateway.JsonBody(new { resources = new[] { new { kind = "TCPMapping", name = "plain-a" } }, quota = new { }, description = "stolen" })
            : null;

        var (status, body) = await gateway.CallAsync(new HttpMethod(method), $"/api/v1/tenants/{AttackedGateway.Victim}{path}", token, Body());
        var (unknown, unknownBody) = await gateway.CallAsync(new HttpMethod(method), $"/api/v1/tenants/no-such-tenant{path}", token, Body());

        Assert.Equal(HttpStatusCode.Forbidden, status);
        var text = body.ToString();
        foreach (var secret in new[] { "plain-a", "route-a", "cert-a", "a.test", $"{gateway.VictimPort}", $"{gateway.VictimUpstream.Port}" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        // A tenant that does not exist answers the same: a 403 does not say whether A exists.
        Assert.Equal(status, unknown);
        Assert.Equal(text.Replace(AttackedGateway.Victim, "T", StringComparison.Ordinal), unknownBody.ToString().Replace("no-such-tenant", "T", StringComparison.Ordinal));
        Assert.Equal(before, await gateway.SnapshotAsync(AttackedGateway.Victim));
        Assert.Equal("upstream-aa", await Traffic.TryEchoAsync(gateway.VictimPort, "a"));
    }

    [Fact]
    public async Task Naming_a_tenants_Secret_serves_its_certificate_to_nobody_else()
    {
        await using var server = new RecordingUpstream(greeting: "upstream-b");
        var port = Ports.Free();
        var tenant = $"thief-{port}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ["*.b.test"], port);

        // B's Host, TLSContext and mapping name A's Secret, plainly and as A's namespaced name: B's names resolve in B only.
        var (status, outcome) = await gateway.ApplyAsync(tenant, token, string.Join('\n',
            Yaml.Host("stolen", "shop.b.test", "cert-a"),
            Yaml.TlsContext("stolen-ctx", "ctx.b.test", "cert-a.default"),
            Yaml.TcpMapping("stolen-route", port, $"127.0.0.1:{server.Port}", host: "shop.b.test"),
            Yaml.TcpMapping("stolen-ctx-route", port, $"127.0.0.1:{server.Port}", host: "ctx.b.test")));
        Assert.DoesNotContain(AttackedGateway.Victim, outcome.ToString(), StringComparison.Ordinal);
        Assert.Contains("cert-a", outcome.ToString(), StringComparison.Ordinal);

        // Whatever the gateway answers on B's port for B's names, it is never A's certificate.
        foreach (var sni in new[] { "shop.b.test", "ctx.b.test" })
        {
            for (var i = 0; i < 3; i++)
            {
                var served = await AttackedGateway.HandshakeAsync(port, sni);
                Assert.True(served is null || served.Value.Certificate.Thumbprint != gateway.VictimCertificate.Thumbprint,
                    $"{sni} was served tenant A's certificate (apply answered {status}: {outcome})");
            }
        }

        // Nor can B read it through the API.
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{AttackedGateway.Victim}/certificates/cert-a", token)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/certificates/cert-a", token)).Status);
    }

    public static TheoryData<string, string> BadNames => new()
    {
        { Yaml.TcpMapping("\"bad\\nname\"", 0, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("\"evil\\r\\n2026-01-01T00:00:00.000Z crit: forged\"", 0, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("bad_name", 0, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("Upper", 0, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping(new string('a', 254), 0, "127.0.0.1:9"), "metadata.name" },
        { Yaml.TcpMapping("ok\n  namespace: \"x\\ny\"", 0, "127.0.0.1:9"), "metadata.namespace" },
        { Yaml.TcpMapping("ok\n  namespace: bad_ns", 0, "127.0.0.1:9"), "metadata.namespace" },
        { Yaml.TcpMapping("ok\n  namespace: Default", 0, "127.0.0.1:9"), "metadata.namespace" },
        { "---\napiVersion: v1\nkind: Secret\nmetadata: {name: \"s\\nx\"}\ntype: Opaque\nstringData: {token: x}\n", "metadata.name" },
        { "---\napiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Secret}\ntype: Opaque\nstringData: {token: x}\n", "metadata.name" },
        { "---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: web, namespace: \"a.b\"}\nspec: {hostname: a.example}\n", "metadata.namespace" },
    };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task A_name_with_a_newline_or_outside_DNS_1123_is_422_naming_the_field_and_nothing_is_stored(string yaml, string field)
    {
        var port = Ports.Free();
        var tenant = $"namer-{port}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ports: port);
        var before = await gateway.SnapshotAsync(tenant);

        var (status, problem) = await gateway.ApplyAsync(tenant, token,
            Yaml.TcpMapping("good", port, "127.0.0.1:9") + "\n" + yaml.Replace("port: 0", $"port: {port}", StringComparison.Ordinal));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        var diagnostic = Assert.Single(problem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "field.name");
        Assert.Equal(field, diagnostic.GetProperty("field").GetString());
        Assert.DoesNotContain(problem.ToString(), c => c is '\n' or '\r');
        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
        Assert.Null(await AttackedGateway.ExchangeAsync(port, "x"));
    }

    [Fact]
    public async Task A_JSON_resource_is_checked_the_same_way()
    {
        var port = Ports.Free();
        var tenant = $"namer-{port}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"], ports: port);
        var body = JsonSerializer.Serialize(new
        {
            apiVersion = "getambassador.io/v3alpha1",
            kind = "TCPMapping",
            metadata = new { name = "json\nname" },
            spec = new { port, service = "127.0.0.1:9" },
        });

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/resources", token,
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
        var tenant = $"namer-{Ports.Free()}";
        var token = await gateway.AttackerAsync(tenant, ["127.0.0.0/8"]);
        var before = await gateway.SnapshotAsync(tenant);

        var (status, problem) = await gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/certificates", token,
            AttackedGateway.JsonBody(new { name, @namespace = ns, pem = "-----BEGIN CERTIFICATE-----" }));

        Assert.True(status == (HttpStatusCode)422, $"{status}: {problem}");
        Assert.Contains("DNS-1123", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await gateway.SnapshotAsync(tenant));
    }

    [Fact]
    public async Task A_client_without_a_key_reads_nothing_about_tenants_from_either_process()
    {
        foreach (var process in new[] { gateway.Core, gateway.Edge })
        {
            foreach (var path in new[] { "/status", "/metrics", $"/api/v1/tenants/{AttackedGateway.Victim}/resources", "/api/v1/tenants" })
            {
                using var response = await process.Http.GetAsync(path, TestContext.Current.CancellationToken);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {response.StatusCode}");
            }

            foreach (var path in new[] { "/healthz", "/readyz" })
            {
                using var response = await process.Http.GetAsync(path, TestContext.Current.CancellationToken);
                var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                foreach (var secret in new[] { AttackedGateway.Victim, "a.test", $"{gateway.VictimPort}", $"{gateway.VictimUpstream.Port}" })
                {
                    Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
                }
            }
        }
    }
}
