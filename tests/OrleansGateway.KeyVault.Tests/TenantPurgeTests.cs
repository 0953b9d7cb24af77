using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OrleansGateway.KeyVault.Tests.TestSupport;
using static OrleansGateway.KeyVault.Tests.TestSupport.TestYaml;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// A deleted tenant's certificates are deleted and purged from the vault, and a tenant created again under its name
/// never serves them, whatever it names (docs/key-vault.md, "Deleting a tenant"): the real gateway with the real SDK
/// against the stand-in, TLS through real sockets. The attacker is whoever gets the name next.
/// </summary>
public sealed class TenantPurgeTests(VaultGateway fixture) : IClassFixture<VaultGateway>
{
    private VaultStandIn Vault => fixture.Vault;

    private InProcessGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task A_deleted_tenants_certificates_are_purged_and_a_tenant_created_again_under_its_name_never_serves_them()
    {
        const string tenant = "pg-a";
        using var uploaded = Certs.Valid("up.purge.test");
        using var fromSecret = Certs.Valid("sec.purge.test");
        using var upstream = new EchoUpstream();
        var port = Ports.Free();
        var key = await Gateway.CreateTenantAsync(tenant);
        var (upload, uploadBody) = await Gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/certificates", key,
            InProcessGateway.Json(new { name = "up-tls", pem = uploaded.ExportCertificatePem() + "\n" + Certs.KeyPem(uploaded) }));
        Assert.True(upload == HttpStatusCode.OK, uploadBody.ToString());
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, key, Secret("sec-tls", fromSecret) + "\n---\n" + Routes(port, upstream.Port))).Status);
        await Eventually.Get(() => Net.HandshakeAsync(port, "up.purge.test"), t => t == uploaded.Thumbprint, "the uploaded certificate");
        await Eventually.Get(() => Net.HandshakeAsync(port, "sec.purge.test"), t => t == fromSecret.Thumbprint, "the Secret's certificate");
        var prefix = KeyVaultNames.TenantPrefix("ogw", tenant);
        Assert.Equal(2, Vault.Names(prefix).Count);

        var (deleted, deleteBody) = await Gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey);

        Assert.True(deleted == HttpStatusCode.NoContent, deleteBody.ToString());
        Assert.Empty(Vault.Names(prefix));
        Assert.False(Vault.HasDeleted(Name(tenant, "up-tls")), "purged, not only deleted");
        Assert.False(Vault.HasDeleted(Name(tenant, "sec-tls")), "purged, not only deleted");

        // Whoever gets the name next names the same certificates, without Secret resources of its own.
        var attacker = await Gateway.CreateTenantAsync(tenant);
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, attacker, Routes(port, upstream.Port))).Status);
        foreach (var name in new[] { "up-tls", "sec-tls" })
        {
            var (_, certificate) = await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/certificates/{name}", attacker);
            Assert.Equal("NotFound", certificate.GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, certificate.GetProperty("thumbprint").ValueKind);
        }

        await AssertNeverServedAsync(port, ("up.purge.test", uploaded), ("sec.purge.test", fromSecret));
    }

    [Fact]
    public async Task Certificates_left_under_a_name_are_purged_before_a_tenant_of_that_name_is_created()
    {
        const string tenant = "pg-left";
        using var leftover = Certs.Valid("left.purge.test");
        Vault.PutPfx(Name(tenant, "web-tls"), leftover);
        using var upstream = new EchoUpstream();
        var port = Ports.Free();

        var key = await Gateway.CreateTenantAsync(tenant);

        Assert.False(Vault.Has(Name(tenant, "web-tls")));
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, key, Route("web", "left.purge.test", "web-tls", port, upstream.Port))).Status);
        var (_, certificate) = await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/certificates/web-tls", key);
        Assert.Equal("NotFound", certificate.GetProperty("state").GetString());
        await AssertNeverServedAsync(port, ("left.purge.test", leftover));
    }

    [Fact]
    public async Task While_the_vault_is_down_a_tenant_is_neither_deleted_nor_created_and_its_name_stays_taken()
    {
        const string tenant = "pg-outage";
        using var certificate = Certs.Valid("outage.purge.test");
        var key = await Gateway.CreateTenantAsync(tenant);
        await Gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/certificates", key,
            InProcessGateway.Json(new { name = "web-tls", pem = certificate.ExportCertificatePem() + "\n" + Certs.KeyPem(certificate) }));
        Assert.True(Vault.Has(Name(tenant, "web-tls")));

        Vault.Outage = true;
        try
        {
            var (deleted, deleteBody) = await Gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey);
            Assert.True(deleted == HttpStatusCode.ServiceUnavailable, deleteBody.ToString());
            Assert.Contains("send the delete again", deleteBody.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey)).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Gateway.CallAsync(HttpMethod.Get, "/api/v1/whoami", key)).Status);
            var (again, _) = await Gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", InProcessGateway.AdminKey, InProcessGateway.Json(new { name = tenant }));
            Assert.Equal(HttpStatusCode.Conflict, again);

            var (created, createBody) = await Gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", InProcessGateway.AdminKey, InProcessGateway.Json(new { name = "pg-new" }));
            Assert.True(created == HttpStatusCode.ServiceUnavailable, createBody.ToString());
            Assert.Equal(HttpStatusCode.NotFound, (await Gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/pg-new", InProcessGateway.AdminKey)).Status);
        }
        finally
        {
            Vault.Outage = false;
        }

        Assert.Equal(HttpStatusCode.NoContent, (await Gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey)).Status);
        Assert.False(Vault.Has(Name(tenant, "web-tls")));
        var (retried, _) = await Gateway.CallAsync(HttpMethod.Post, "/api/v1/tenants", InProcessGateway.AdminKey, InProcessGateway.Json(new { name = "pg-new" }));
        Assert.Equal(HttpStatusCode.Created, retried);
    }

    [Fact]
    public async Task With_purge_protection_a_deleted_tenants_certificate_stays_deleted_and_its_name_cannot_be_stored_again()
    {
        const string tenant = "pg-protected";
        using var certificate = Certs.Valid("protected.purge.test");
        using var other = Certs.Valid("protected.purge.test");
        var key = await Gateway.CreateTenantAsync(tenant);
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, key, Secret("web-tls", certificate))).Status);

        Vault.PurgeProtection = true;
        try
        {
            Assert.Equal(HttpStatusCode.NoContent, (await Gateway.CallAsync(HttpMethod.Delete, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey)).Status);
            Assert.False(Vault.Has(Name(tenant, "web-tls")));
            Assert.True(Vault.HasDeleted(Name(tenant, "web-tls")));
            Assert.Contains(Gateway.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains(Name(tenant, "web-tls"), StringComparison.Ordinal));

            // The next tenant of the name cannot store a key under it (Key Vault keeps the deleted name) and is told why.
            var next = await Gateway.CreateTenantAsync(tenant);
            var (refused, body) = await Gateway.ApplyAsync(tenant, next, Secret("web-tls", other));
            Assert.True(refused == HttpStatusCode.ServiceUnavailable, body.ToString());
            Assert.Contains("purge", body.GetProperty("diagnostics")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Vault.PurgeProtection = false;
        }
    }

    private static string Name(string tenant, string secret) => KeyVaultNames.For("ogw", new SecretRef("default", secret) { Tenant = tenant });

    /// <summary>Handshakes for each host are refused, and not one of them gets the earlier tenant's certificate.</summary>
    private static Task AssertNeverServedAsync(int port, params (string Host, X509Certificate2 Certificate)[] earlier) =>
        Net.AssertRefusedAndNeverServedAsync(port, earlier.Select(e => e.Host), earlier.Select(e => e.Certificate.Thumbprint).ToHashSet());

    private static string Routes(int port, int upstream) =>
        Route("up", "up.purge.test", "up-tls", port, upstream) + "\n---\n" + Route("sec", "sec.purge.test", "sec-tls", port, upstream);
}
