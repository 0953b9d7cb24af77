using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>A tenant's own key: apply, list, get, delete, status, with real traffic: docs/api.md "Resources and status".</summary>
[Collection(GatewayCollection.Name)]
public sealed class TenantFlowTests(ApiGateway gateway)
{
    [Fact]
    public async Task Applied_mapping_carries_traffic_and_shows_in_resources_and_status()
    {
        await using var upstream = new RecordingUpstream();
        var port = Ports.Free();
        var token = await gateway.CreateTenantAsync("shop", port);

        var (status, outcome) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/shop/resources", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", port, $"127.0.0.1:{upstream.Port}")));
        Assert.True(status == HttpStatusCode.OK, outcome.ToString());
        Assert.True(outcome.GetProperty("accepted").GetBoolean());
        Assert.False(outcome.GetProperty("dryRun").GetBoolean());
        Assert.Equal(1, outcome.GetProperty("version").GetInt64());
        var view = Assert.Single(outcome.GetProperty("resources").EnumerateArray());
        Assert.Equal(("TCPMapping", "default", "db", "api", "Accepted"), Fields(view));

        Assert.True(
            await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "ping") == "ping", TimeSpan.FromSeconds(10)),
            "no echo through the applied mapping");

        var (_, list) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/shop/resources?kind=tcpmapping", token);
        Assert.Equal("db", Assert.Single(list.EnumerateArray()).GetProperty("name").GetString());
        Assert.Empty((await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/shop/resources?kind=Secret", token)).Body.EnumerateArray());

        var (got, one) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/shop/resources/tcpmapping/default/db", token);
        Assert.Equal(HttpStatusCode.OK, got);
        Assert.Equal(port, one.GetProperty("resource").GetProperty("port").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/shop/resources/TCPMapping/default/nope", token)).Status);

        var (ok, tenantStatus) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/shop/status", token);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(1, tenantStatus.GetProperty("version").GetInt64());
        Assert.Equal(1, tenantStatus.GetProperty("usage").GetProperty("listeners").GetInt32());
        Assert.Equal(1, tenantStatus.GetProperty("usage").GetProperty("mappings").GetInt32());
        var listener = Assert.Single(tenantStatus.GetProperty("listeners").EnumerateArray());
        Assert.Equal(port, listener.GetProperty("port").GetInt32());
        Assert.Equal("127.0.0.1", listener.GetProperty("address").GetString());
        Assert.Equal(["*"], listener.GetProperty("routes").EnumerateArray().Select(r => r.GetString()));
        Assert.DoesNotContain(ApiGateway.ConfigTenant, tenantStatus.ToString());
        Assert.DoesNotContain("\"old\"", tenantStatus.ToString());

        // The edge (this process) reports the listener bound and, while a client holds a connection, counts it.
        using (var held = new System.Net.Sockets.TcpClient())
        {
            await held.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            JsonElement last = default;
            var seen = await Eventually.TrueAsync(async () =>
            {
                last = (await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/shop/status", token)).Body;
                var l = last.GetProperty("listeners")[0];
                return l.GetProperty("bound").GetBoolean() && l.GetProperty("activeConnections").GetInt32() == 1
                    && last.GetProperty("usage").GetProperty("activeConnections").GetInt32() == 1;
            }, TimeSpan.FromSeconds(15));
            Assert.True(seen, last.ToString());
            var edge = Assert.Single(last.GetProperty("listeners")[0].GetProperty("edges").EnumerateArray());
            Assert.True(edge.GetProperty("bound").GetBoolean());
            Assert.Equal(JsonValueKind.Null, edge.GetProperty("error").ValueKind);
        }

        // Deleting the mapping closes the port.
        var (deleted, after) = await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/shop/resources/TCPMAPPING/default/db", token);
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Empty(after.GetProperty("resources").EnumerateArray());
        Assert.True(
            await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "ping") is null, TimeSpan.FromSeconds(10)),
            "the deleted mapping still answers");
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.CallAsync(HttpMethod.Delete, "/api/v1/tenants/shop/resources/TCPMapping/default/db", token)).Status);
    }

    [Fact]
    public async Task Dry_run_returns_the_outcome_and_persists_nothing()
    {
        var port = Ports.Free();
        var token = await gateway.CreateTenantAsync("dry", port);
        var (status, outcome) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/dry/resources?dryRun=true", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", port, "127.0.0.1:9")));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(outcome.GetProperty("dryRun").GetBoolean());
        Assert.Equal("Accepted", Assert.Single(outcome.GetProperty("resources").EnumerateArray()).GetProperty("status").GetString());
        Assert.Equal(0, await gateway.VersionAsync("dry"));
        Assert.Empty((await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/dry/resources", token)).Body.EnumerateArray());

        // A dry run of a refused change answers 422 like the real one, and still stores nothing.
        var (refused, problem) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/dry/resources?dryRun=true", token,
            ApiGateway.YamlBody(Yaml.TcpMapping("db", Ports.Free(), "127.0.0.1:9")));
        Assert.Equal((HttpStatusCode)422, refused);
        Assert.Contains("AllowedPorts", problem.GetProperty("diagnostics").ToString());
        Assert.Equal(0, await gateway.VersionAsync("dry"));
    }

    [Fact]
    public async Task Files_body_applies_atomically_and_bulk_delete_removes_in_one_change()
    {
        var (p1, p2) = (Ports.Free(), Ports.Free());
        var token = await gateway.CreateTenantAsync("files", p1, p2);
        var body = new { files = new[] { new { path = "dir/a.yaml", content = Yaml.TcpMapping("a", p1, "127.0.0.1:9") }, new { path = "dir/b.yaml", content = Yaml.TcpMapping("b", p2, "127.0.0.1:9") } } };
        var (status, outcome) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/files/resources", token,
            new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/vnd.ogw.files+json"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, outcome.GetProperty("resources").GetArrayLength());
        Assert.Equal(1, outcome.GetProperty("version").GetInt64());

        var (deleted, after) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/files/resources/delete", token, ApiGateway.JsonBody(new
        {
            resources = new object[] { new { kind = "tcpmapping", name = "a" }, new { kind = "TCPMapping", @namespace = "default", name = "b" }, new { kind = "TCPMapping", name = "gone" } },
        }));
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Empty(after.GetProperty("resources").EnumerateArray());
        Assert.Equal(2, after.GetProperty("version").GetInt64());
        Assert.Contains(after.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "resource.absent");
    }

    [Fact]
    public async Task Json_apply_and_secret_keys_are_never_shown()
    {
        var token = await gateway.CreateTenantAsync("secrets");
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=secrets.example", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var privateKey = key.ExportPkcs8PrivateKeyPem();
        var keyBody = privateKey.Split('\n')[1];
        var secret = new
        {
            apiVersion = "v1",
            kind = "Secret",
            metadata = new { name = "tls" },
            type = "kubernetes.io/tls",
            stringData = new Dictionary<string, string> { ["tls.crt"] = certificate.ExportCertificatePem(), ["tls.key"] = privateKey },
        };
        var (applied, outcome) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/secrets/resources", token, ApiGateway.JsonBody(secret));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());
        Assert.DoesNotContain(keyBody, outcome.ToString());

        var (_, one) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/secrets/resources/secret/default/tls", token);
        var (_, list) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/secrets/resources", token);
        Assert.DoesNotContain(keyBody, one.ToString() + list);
        Assert.Equal("(present; never shown)", one.GetProperty("resource").GetProperty("tlsKey").GetString());
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", one.GetProperty("resource").GetProperty("tlsCrt").GetString());
    }

    private static (string?, string?, string?, string?, string?) Fields(JsonElement view) => (
        view.GetProperty("kind").GetString(),
        view.GetProperty("namespace").GetString(),
        view.GetProperty("name").GetString(),
        view.GetProperty("source").GetString(),
        view.GetProperty("status").GetString());
}
