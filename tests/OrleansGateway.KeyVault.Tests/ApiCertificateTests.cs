using System.Net;
using System.Text;
using System.Text.Json;
using OrleansGateway.KeyVault.Tests.TestSupport;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// The management API's certificate endpoints on the real gateway process (in-process, memory storage) with
/// <c>--key-vault-uri</c> pointing at the stand-in.
/// </summary>
public sealed class ApiCertificateTests(VaultGateway fixture) : IClassFixture<VaultGateway>
{
    private VaultStandIn Vault => fixture.Vault;

    private CapturedLogs Logs => fixture.Gateway.Logs;

    [Fact]
    public async Task A_tenant_uploads_a_PEM_certificate_into_the_vault_and_sees_its_facts_but_never_its_key()
    {
        var key = await CreateTenantAsync("kv-api");
        using var certificate = Certs.Valid("api.vault.test");
        var pem = certificate.ExportCertificatePem() + "\n" + Certs.KeyPem(certificate);

        var (status, body) = await CallAsync(HttpMethod.Post, "/api/v1/tenants/kv-api/certificates", key, Json(new { name = "web-tls", pem }));

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var vaultName = KeyVaultNames.For("ogw", new SecretRef("default", "web-tls") { Tenant = "kv-api" });
        Assert.True(Vault.Has(vaultName));
        Assert.Equal("key-vault", body.GetProperty("source").GetString());
        Assert.Equal(vaultName, body.GetProperty("location").GetString());
        Assert.Equal("Ready", body.GetProperty("state").GetString());
        Assert.Equal(certificate.Thumbprint, body.GetProperty("thumbprint").GetString());
        Assert.Equal("api.vault.test", body.GetProperty("dnsNames")[0].GetString());
        Assert.Equal("CN=api.vault.test", body.GetProperty("subject").GetString());

        var (_, one) = await CallAsync(HttpMethod.Get, "/api/v1/tenants/kv-api/certificates/web-tls", key);
        Assert.Equal(certificate.Thumbprint, one.GetProperty("thumbprint").GetString());
        var (_, refreshed) = await CallAsync(HttpMethod.Post, "/api/v1/tenants/kv-api/certificates/web-tls/refresh", key);
        Assert.Equal("Ready", refreshed.GetProperty("state").GetString());

        foreach (var answer in new[] { body, one, refreshed })
        {
            Assert.DoesNotContain("PRIVATE KEY", answer.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Certs.KeyFingerprint(certificate), answer.ToString(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Certs.KeyFingerprint(certificate), Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_referenced_vault_certificate_is_listed_and_another_tenant_cannot_read_it()
    {
        var key = await CreateTenantAsync("kv-list");
        var other = await CreateTenantAsync("kv-other");
        using var certificate = Certs.Valid("list.vault.test");
        Vault.PutPfx(KeyVaultNames.For("ogw", new SecretRef("default", "list-tls") { Tenant = "kv-list" }), certificate);
        var yaml = $$"""
            apiVersion: getambassador.io/v3alpha1
            kind: Host
            metadata: { name: h }
            spec: { hostname: list.vault.test, tlsSecret: { name: list-tls } }
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata: { name: m }
            spec: { port: {{Ports.Free()}}, host: list.vault.test, service: "127.0.0.1:9" }
            """;
        var (applied, outcome) = await CallAsync(HttpMethod.Post, "/api/v1/tenants/kv-list/resources", key, new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());

        var (status, list) = await CallAsync(HttpMethod.Get, "/api/v1/tenants/kv-list/certificates", key);
        Assert.Equal(HttpStatusCode.OK, status);
        var entry = Assert.Single(list.EnumerateArray());
        Assert.Equal("list-tls", entry.GetProperty("name").GetString());
        Assert.Equal("Ready", entry.GetProperty("state").GetString());
        Assert.Equal(certificate.Thumbprint, entry.GetProperty("thumbprint").GetString());

        var (forbidden, _) = await CallAsync(HttpMethod.Get, "/api/v1/tenants/kv-list/certificates/list-tls", other);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden);
        var (missing, _) = await CallAsync(HttpMethod.Get, "/api/v1/tenants/kv-other/certificates/list-tls", other);
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }

    [Fact]
    public async Task Expired_and_mismatched_uploads_are_refused_with_the_reason()
    {
        var key = await CreateTenantAsync("kv-bad");
        using var expired = Certs.Expired("bad.vault.test");
        using var other = Certs.Valid("bad.vault.test");

        var (s1, b1) = await CallAsync(HttpMethod.Post, "/api/v1/tenants/kv-bad/certificates", key,
            Json(new { name = "old", pfx = Convert.ToBase64String(expired.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12)) }));
        var (s2, b2) = await CallAsync(HttpMethod.Post, "/api/v1/tenants/kv-bad/certificates", key,
            Json(new { name = "mixed", pem = expired.ExportCertificatePem() + "\n" + Certs.KeyPem(other) }));

        Assert.Equal(HttpStatusCode.BadRequest, s1);
        Assert.Contains("expired", b1.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, s2);
        Assert.Contains("does not match", b2.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(Vault.Has(KeyVaultNames.For("ogw", new SecretRef("default", "old") { Tenant = "kv-bad" })));
    }

    private Task<string> CreateTenantAsync(string name) => fixture.Gateway.CreateTenantAsync(name);

    private Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(HttpMethod method, string path, string key, HttpContent? content = null) =>
        fixture.Gateway.CallAsync(method, path, key, content);

    private static StringContent Json(object value) => InProcessGateway.Json(value);
}

/// <summary>Without a vault, an upload becomes a tenant Secret resource and is served from there.</summary>
public sealed class ApiCertificateWithoutVaultTests(PlainGateway fixture) : IClassFixture<PlainGateway>
{
    [Fact]
    public async Task An_upload_becomes_a_tenant_Secret_and_shows_as_one()
    {
        var gateway = fixture.Gateway;
        var key = await gateway.CreateTenantAsync("plain");
        using var certificate = Certs.Valid("plain.example.test");
        var pfx = Convert.ToBase64String(certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "pw"));

        var (status, body) = await gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants/plain/certificates", key,
            InProcessGateway.Json(new { name = "web-tls", pfx, password = "pw" }));

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal("secret", body.GetProperty("source").GetString());
        Assert.Equal(certificate.Thumbprint, body.GetProperty("thumbprint").GetString());
        var (_, secret) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/plain/resources/Secret/default/web-tls", key);
        Assert.Equal("Accepted", secret.GetProperty("status").GetString());
        foreach (var answer in new[] { body.ToString(), secret.ToString() })
        {
            Assert.DoesNotContain(Certs.KeyFingerprint(certificate), answer, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Certs.KeyFingerprint(certificate), gateway.Logs.All, StringComparison.Ordinal);
    }
}
