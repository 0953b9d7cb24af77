using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.KeyVault.Tests.TestSupport;
using static OrleansGateway.KeyVault.Tests.TestSupport.TestYaml;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// Tenant B holds a key and wants tenant A's certificates out of Key Vault (docs/key-vault.md, "The name rule"): it
/// names them in its Hosts, reads, refreshes and uploads under every spelling it can think of — A's secret names, A's
/// vault names, separators, path segments, other cases, newlines — through the real API, with TLS through real sockets.
/// Every name it reaches is inside its own vault prefix, none of A's certificates is served to it or changed by it,
/// and A keeps serving.
/// </summary>
public sealed class VaultNameAttackTests(VaultGateway fixture) : IClassFixture<VaultGateway>
{
    private const string Victim = "vn-a";
    private const string Attacker = "vn-b";

    /// <summary>(namespace or null for the default, name) as the attacker spells them.</summary>
    private static readonly (string? Namespace, string Name)[] Spellings =
    [
        (null, "web-tls"),
        (null, "sec-tls"),
        (null, "WEB-TLS"),
        ("Default", "web-tls"),
        (null, "web-dtls"),
        (null, "web.tls"),
        (null, "web-tls\n"),
        (null, "web-tls\r\nx-ms-version: 1"),
        (null, "web-tls "),
        (null, VaultName(Victim, "web-tls")),
        (null, VaultName(Victim, "web-tls").ToUpperInvariant()),
        (null, "vn-a--default--web-tls"),
        ("default--web", "tls"),
        (Victim, "web-tls"),
        ("../" + Victim, "web-tls"),
        (null, "../../vn-a/certificates/web-tls"),
        (null, "web-tls.default"),
        (null, "web-tls%0a"),
    ];

    private VaultStandIn Vault => fixture.Vault;

    private InProcessGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task Another_tenant_reaches_none_of_a_tenants_vault_certificates_by_any_spelling_of_their_names()
    {
        // A: one certificate uploaded into the vault, one kept there from its Secret resource; both served.
        using var uploaded = Certs.Valid("up.victim.test");
        using var fromSecret = Certs.Valid("sec.victim.test");
        using var upstream = new EchoUpstream();
        var victimPort = Ports.Free();
        var victim = await Gateway.CreateTenantAsync(Victim);
        await UploadAsync(Victim, victim, null, "web-tls", uploaded, HttpStatusCode.OK);
        var (applied, appliedBody) = await Gateway.ApplyAsync(Victim, victim,
            Secret("sec-tls", fromSecret) + "\n---\n" + Route("up", "up.victim.test", "web-tls", victimPort, upstream.Port) +
            "\n---\n" + Route("sec", "sec.victim.test", "sec-tls", victimPort, upstream.Port));
        Assert.True(applied == HttpStatusCode.OK, appliedBody.ToString());
        await Eventually.Get(() => Net.HandshakeAsync(victimPort, "up.victim.test"), t => t == uploaded.Thumbprint, "A's uploaded certificate");
        await Eventually.Get(() => Net.HandshakeAsync(victimPort, "sec.victim.test"), t => t == fromSecret.Thumbprint, "A's Secret's certificate");
        string[] victimNames = [VaultName(Victim, "web-tls"), VaultName(Victim, "sec-tls")];
        var victimVersions = victimNames.ToDictionary(n => n, n => Vault.Versions(n).Select(v => v.Id).ToList());
        Assert.All(victimVersions.Values, v => Assert.NotEmpty(v));
        var forbidden = new HashSet<string> { uploaded.Thumbprint, fromSecret.Thumbprint };

        var attacker = await Gateway.CreateTenantAsync(Attacker);
        var attackerPrefix = KeyVaultNames.TenantPrefix("ogw", Attacker);

        // B's key on A's routes, whatever the spelling of A's name: refused before anything is looked up.
        foreach (var tenant in new[] { Victim, "VN-A", "vn-a%0A", "vn-a.", Attacker + "%2F..%2F" + Victim })
        {
            foreach (var (method, path) in new[] { (HttpMethod.Get, "/certificates/web-tls"), (HttpMethod.Post, "/certificates/web-tls/refresh"), (HttpMethod.Get, "/certificates") })
            {
                var (status, body) = await Gateway.CallAsync(method, $"/api/v1/tenants/{tenant}{path}", attacker);
                Assert.True(status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"{method} {tenant}{path}: {status} {body}");
                Assert.DoesNotContain(uploaded.Thumbprint, body.ToString(), StringComparison.OrdinalIgnoreCase);
            }
        }

        // B reads and refreshes A's names as its own: it has no such certificate.
        foreach (var (ns, name) in Spellings)
        {
            var query = ns is null ? "" : "?namespace=" + Uri.EscapeDataString(ns);
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
            {
                var path = $"/api/v1/tenants/{Attacker}/certificates/{Uri.EscapeDataString(name)}{(method == HttpMethod.Post ? "/refresh" : "")}{query}";
                var (status, body) = await Gateway.CallAsync(method, path, attacker);
                Assert.True(status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, $"{method} {path}: {status} {body}");
            }
        }

        // B names them in its Hosts, one change each: refused naming the field (422), or accepted; then a route of its own
        // whose certificate, once served, proves that every accepted route is in service.
        var attackerPort = Ports.Free();
        var accepted = new List<string>();
        for (var i = 0; i < Spellings.Length; i++)
        {
            var (status, body) = await Gateway.ApplyAsync(Attacker, attacker, Route($"x{i}", $"x{i}.attacker.test", Spellings[i].Name, attackerPort, upstream.Port, Spellings[i].Namespace));
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity, $"Host naming {Spellings[i]}: {status} {body}");
            if (status == HttpStatusCode.OK)
            {
                accepted.Add($"x{i}.attacker.test");
            }
            else
            {
                Assert.Contains("tlsSecret", body.ToString(), StringComparison.Ordinal);
            }
        }

        // A's own secret names and A's vault name are good names for B's Secrets: B may name them, in its own scope.
        Assert.Contains("x0.attacker.test", accepted);
        Assert.Contains("x1.attacker.test", accepted);
        Assert.Contains("x9.attacker.test", accepted);

        using var own = Certs.Valid("own.attacker.test");
        await UploadAsync(Attacker, attacker, null, "own-tls", own, HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(Attacker, attacker, Route("own", "own.attacker.test", "own-tls", attackerPort, upstream.Port))).Status);
        await Eventually.Get(() => Net.HandshakeAsync(attackerPort, "own.attacker.test"), t => t == own.Thumbprint, "B's own certificate");
        var (_, listed) = await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Attacker}/certificates", attacker);
        foreach (var name in new[] { "web-tls", "sec-tls" })
        {
            Assert.Contains(listed.EnumerateArray(), c => c.GetProperty("namespace").GetString() == "default" && c.GetProperty("name").GetString() == name);
        }

        foreach (var certificate in listed.EnumerateArray())
        {
            Assert.StartsWith(attackerPrefix, certificate.GetProperty("location").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.False(forbidden.Contains(certificate.GetProperty("thumbprint").GetString() ?? ""), certificate.ToString());
            if (certificate.GetProperty("name").GetString() != "own-tls")
            {
                Assert.True(certificate.GetProperty("state").GetString() == "NotFound", certificate.ToString());
            }
        }

        await Net.AssertRefusedAndNeverServedAsync(attackerPort, accepted, forbidden);

        // B stores certificates under those names, by upload and as Secret resources: new names in its own prefix, A's untouched.
        using var planted = Certs.Valid("up.victim.test");
        foreach (var (ns, name) in Spellings)
        {
            var (status, body) = await UploadAsync(Attacker, attacker, ns, name, planted, null);
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, $"upload {ns}/{name}: {status} {body}");
        }

        foreach (var (ns, name) in Spellings)
        {
            var (status, body) = await Gateway.ApplyAsync(Attacker, attacker, Secret(name, planted, ns));
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity, $"Secret {ns}/{name}: {status} {body}");
        }

        Assert.All(Vault.Names(KeyVaultNames.TenantPrefix("ogw", Victim)), n => Assert.Contains(n, victimNames));
        foreach (var (name, versions) in victimVersions)
        {
            Assert.Equal(versions, Vault.Versions(name).Select(v => v.Id));
        }

        Assert.NotEmpty(Vault.Names(attackerPrefix));
        Assert.All(Vault.Names("ogw-vn-"), n => Assert.True(n.StartsWith(attackerPrefix, StringComparison.OrdinalIgnoreCase) || victimNames.Contains(n), n));

        // A still serves its own certificates, after B's attempts and a refresh.
        foreach (var name in new[] { "web-tls", "sec-tls" })
        {
            var (refreshed, body) = await Gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Victim}/certificates/{name}/refresh", victim);
            Assert.True(refreshed == HttpStatusCode.OK && body.GetProperty("state").GetString() == "Ready", body.ToString());
        }

        Assert.Equal(uploaded.Thumbprint, await Net.HandshakeAsync(victimPort, "up.victim.test"));
        Assert.Equal(fromSecret.Thumbprint, await Net.HandshakeAsync(victimPort, "sec.victim.test"));
    }

    /// <summary>
    /// Where a Secret's key is kept is written in the tenant's stored Secret (a marker in tls.key). B sends markers
    /// that point at A's vault version, with A's public certificate, as a new Secret and over its own stored one: each
    /// is a key that does not read as PEM (422), and B keeps serving its own certificate, never A's.
    /// </summary>
    [Fact]
    public async Task A_forged_key_marker_pointing_at_another_tenants_vault_version_is_refused_and_never_served()
    {
        using var victimCertificate = Certs.Valid("forge.victim.test");
        using var own = Certs.Valid("forge.victim.test");
        using var upstream = new EchoUpstream();
        var victim = await Gateway.CreateTenantAsync("fm-a");
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync("fm-a", victim, Secret("web-tls", victimCertificate))).Status);
        var victimName = VaultName("fm-a", "web-tls");
        var (victimVersion, tags) = Assert.Single(Vault.Versions(victimName));
        var hash = tags[KeyVaultCertificateSource.SecretTag];
        var attacker = await Gateway.CreateTenantAsync("fm-b");
        var port = Ports.Free();
        string[] markers =
        [
            SecretKeyMarker.Kept(new CertificatePin(victimName, victimVersion, victimCertificate.Thumbprint, hash)),
            SecretKeyMarker.Kept(new CertificatePin(VaultName("fm-b", "web-tls"), victimVersion, victimCertificate.Thumbprint, hash)),
        ];
        var route = Route("forge", "forge.victim.test", "web-tls", port, upstream.Port);

        foreach (var marker in markers)
        {
            var (status, body) = await Gateway.ApplyAsync("fm-b", attacker, Secret("web-tls", victimCertificate, key: marker) + "\n---\n" + route);
            Assert.True(status == HttpStatusCode.UnprocessableEntity, body.ToString());
            Assert.Contains("tls.key", body.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync("fm-b", attacker, Secret("web-tls", own) + "\n---\n" + route)).Status);
        await Eventually.Get(() => Net.HandshakeAsync(port, "forge.victim.test"), t => t == own.Thumbprint, "B's own certificate");
        foreach (var marker in markers)
        {
            var (status, body) = await Gateway.ApplyAsync("fm-b", attacker, Secret("web-tls", victimCertificate, key: marker));
            Assert.True(status == HttpStatusCode.UnprocessableEntity, body.ToString());
        }

        var (_, certificate) = await Gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants/fm-b/certificates/web-tls", attacker);
        Assert.Equal(own.Thumbprint, certificate.GetProperty("thumbprint").GetString());
        Assert.Equal(own.Thumbprint, await Net.HandshakeAsync(port, "forge.victim.test"));
        Assert.Equal([victimVersion], Vault.Versions(victimName).Select(v => v.Id));
    }

    private static string VaultName(string tenant, string secret) => KeyVaultNames.For("ogw", new SecretRef("default", secret) { Tenant = tenant });

    /// <param name="expected">The status the upload must get; null to return whatever it got.</param>
    private async Task<(HttpStatusCode Status, JsonElement Body)> UploadAsync(string tenant, string key, string? ns, string name, X509Certificate2 certificate, HttpStatusCode? expected)
    {
        var (status, body) = await Gateway.CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/certificates", key,
            InProcessGateway.Json(new { name, @namespace = ns, pem = certificate.ExportCertificatePem() + "\n" + Certs.KeyPem(certificate) }));
        Assert.True(expected is null || status == expected, $"upload {ns}/{name}: {status} {body}");
        return (status, body);
    }

}
