using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using OrleansGateway.KeyVault.Tests.TestSupport;
using static OrleansGateway.KeyVault.Tests.TestSupport.TestYaml;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// With <c>--key-vault-uri</c>, no private key reaches Azure Table storage (docs/key-vault.md, "Secret resources"): the
/// real gateway on a private Azurite, the real Azure SDK against the vault stand-in, Secrets applied through the API and
/// the config directory, TLS through real sockets, and the raw table entities read back and decompressed.
/// </summary>
public sealed class SecretKeysInVaultTests(VaultStorageGateway fixture) : IClassFixture<VaultStorageGateway>
{
    private VaultStandIn Vault => fixture.Vault;

    private InProcessGateway Gateway => fixture.Gateway;

    [Fact]
    public async Task A_Secret_applied_through_the_API_is_kept_in_the_vault_served_and_never_written_to_Table_storage()
    {
        const string tenant = "vs-api";
        const string host = "api.keys.test";
        var key = await Gateway.CreateTenantAsync(tenant);
        using var certificate = Certs.Valid(host);
        var port = Ports.Free();
        var name = VaultStorageGateway.VaultName(tenant, "web-tls");

        var (status, body) = await Gateway.ApplyAsync(tenant, key, Resources(certificate, host, port));

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var version = Assert.Single(Vault.Versions(name));
        Assert.True(version.Tags.ContainsKey(KeyVaultCertificateSource.SecretTag));
        Assert.Equal(certificate.Thumbprint, await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == certificate.Thumbprint, "TLS with the Secret's certificate"));

        var (_, secret) = await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/resources/Secret/default/web-tls", key);
        Assert.Equal("(present; never shown)", secret.GetProperty("resource").GetProperty("tlsKey").GetString());
        var (_, served) = await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/certificates/web-tls", key);
        Assert.Equal("secret", served.GetProperty("source").GetString());
        Assert.Equal(name, served.GetProperty("location").GetString());
        Assert.Equal(version.Id, served.GetProperty("version").GetString());

        // Applying the same Secret again stores nothing new.
        var (again, _) = await Gateway.ApplyAsync(tenant, key, Resources(certificate, host, port));
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Single(Vault.Versions(name));
        Assert.Equal(1, Vault.Requests("POST", $"/certificates/{name}/import"));

        await AssertNoKeyInTablesAsync(certificate);
    }

    [Fact]
    public async Task A_Secret_of_the_config_directory_is_kept_in_the_vault_and_a_reload_stores_no_new_version()
    {
        const string tenant = "vs-dir";
        const string host = "dir.keys.test";
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        var port = Ports.Free();
        var name = VaultStorageGateway.VaultName(tenant, "web-tls");
        var directory = Directory.CreateDirectory(Path.Combine(fixture.ConfigDir, tenant)).FullName;

        await File.WriteAllTextAsync(Path.Combine(directory, "app.yaml"), Resources(v1, host, port), TestContext.Current.CancellationToken);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v1.Thumbprint, "TLS with the config directory's Secret", TimeSpan.FromSeconds(60));
        Assert.Single(Vault.Versions(name));

        // Any change makes the directory apply every file again: the unchanged Secret stores nothing.
        var otherPort = Ports.Free();
        await File.WriteAllTextAsync(Path.Combine(directory, "other.yaml"), $$"""
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata: { name: other }
            spec: { port: {{otherPort}}, address: 127.0.0.1, service: "127.0.0.1:{{fixture.Upstream.Port}}" }
            """, TestContext.Current.CancellationToken);
        await Eventually.Until(async () => (await ResourcesOf(tenant)).Contains("other"), "the directory's reload", TimeSpan.FromSeconds(60));
        Assert.Single(Vault.Versions(name));
        Assert.Equal(1, Vault.Requests("POST", $"/certificates/{name}/import"));

        // A new certificate in the file is a new version, served to new handshakes.
        await File.WriteAllTextAsync(Path.Combine(directory, "app.yaml"), Resources(v2, host, port), TestContext.Current.CancellationToken);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v2.Thumbprint, "TLS with the changed Secret", TimeSpan.FromSeconds(60));
        Assert.Equal(2, Vault.Versions(name).Count);

        await AssertNoKeyInTablesAsync(v1, v2);
    }

    [Fact]
    public async Task A_refused_Strict_apply_stores_no_version_and_the_served_certificate_stays()
    {
        const string tenant = "vs-strict";
        const string host = "strict.keys.test";
        var key = await Gateway.CreateTenantAsync(tenant);
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        using var other = Certs.Valid(host);
        var port = Ports.Free();
        var name = VaultStorageGateway.VaultName(tenant, "web-tls");
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, key, Resources(v1, host, port))).Status);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v1.Thumbprint, "TLS with v1");

        // A new certificate together with a mapping that is Discarded (a port outside 1..65535): all or nothing.
        var (refused, problem) = await Gateway.ApplyAsync(tenant, key, Resources(v2, host, port) + """

            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata: { name: broken }
            spec: { port: 70000, service: "127.0.0.1:9" }
            """);
        Assert.True(refused == HttpStatusCode.UnprocessableEntity, problem.ToString());

        // A key that is not its certificate's: refused, naming the field, before anything reaches the vault.
        var (mismatch, mismatchProblem) = await Gateway.ApplyAsync(tenant, key, Resources(v2, host, port, keyOf: other));
        Assert.True(mismatch == HttpStatusCode.UnprocessableEntity, mismatchProblem.ToString());
        Assert.Contains(mismatchProblem.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "secret.key-mismatch");

        Assert.Single(Vault.Versions(name));
        Assert.Equal(1, Vault.Requests("POST", $"/certificates/{name}/import"));
        Assert.Equal(v1.Thumbprint, await Net.HandshakeAsync(port, host));
        await AssertNoKeyInTablesAsync(v1, v2, other);
    }

    [Fact]
    public async Task During_a_vault_outage_an_API_apply_answers_503_and_changes_nothing()
    {
        const string tenant = "vs-outage";
        const string host = "outage.keys.test";
        var key = await Gateway.CreateTenantAsync(tenant);
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        var port = Ports.Free();
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, key, Resources(v1, host, port))).Status);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v1.Thumbprint, "TLS with v1");
        var before = (await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey)).Body.GetProperty("version").GetInt64();

        Vault.Outage = true;
        (HttpStatusCode Status, JsonElement Body) answer;
        try
        {
            answer = await Gateway.ApplyAsync(tenant, key, Resources(v2, host, port));
        }
        finally
        {
            Vault.Outage = false;
        }

        Assert.True(answer.Status == HttpStatusCode.ServiceUnavailable, answer.Body.ToString());
        var diagnostic = Assert.Single(answer.Body.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("secret.store-unavailable", diagnostic.GetProperty("code").GetString());
        Assert.Contains("503", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, (await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}", InProcessGateway.AdminKey)).Body.GetProperty("version").GetInt64());
        Assert.Equal(v1.Thumbprint, await Net.HandshakeAsync(port, host));

        // Sent again once the vault answers, it is applied.
        Assert.Equal(HttpStatusCode.OK, (await Gateway.ApplyAsync(tenant, key, Resources(v2, host, port))).Status);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v2.Thumbprint, "TLS with v2 after the outage");
        await AssertNoKeyInTablesAsync(v1, v2);
    }

    [Fact]
    public async Task During_a_vault_outage_the_config_directory_keeps_serving_the_last_accepted_Secret_and_says_why()
    {
        const string tenant = "vs-dir-outage";
        const string host = "dir-outage.keys.test";
        using var v1 = Certs.Valid(host);
        using var v2 = Certs.Valid(host);
        using var fresh = Certs.Valid("fresh.keys.test");
        var port = Ports.Free();
        var directory = Directory.CreateDirectory(Path.Combine(fixture.ConfigDir, tenant)).FullName;
        var file = Path.Combine(directory, "app.yaml");
        await File.WriteAllTextAsync(file, Resources(v1, host, port), TestContext.Current.CancellationToken);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v1.Thumbprint, "TLS with v1", TimeSpan.FromSeconds(60));

        Vault.Outage = true;
        try
        {
            await File.WriteAllTextAsync(file, Resources(v2, host, port) + "\n---\n" + Secret("fresh-tls", fresh), TestContext.Current.CancellationToken);
            var kept = await Eventually.Get(() => Resource(tenant, "Secret", "web-tls"), r => Messages(r).Contains("last accepted version stays served"),
                "the Secret kept at its last accepted version", TimeSpan.FromSeconds(60));
            Assert.Equal("Accepted", kept.GetProperty("status").GetString());
            var pending = await Resource(tenant, "Secret", "fresh-tls");
            Assert.Equal("Discarded", pending.GetProperty("status").GetString());
            Assert.Contains("could not be stored", Messages(pending), StringComparison.Ordinal);
            Assert.Null(pending.GetProperty("resource").GetProperty("tlsKey").GetString());
            Assert.Equal(v1.Thumbprint, await Net.HandshakeAsync(port, host));
        }
        finally
        {
            Vault.Outage = false;
        }

        // The directory's next change applies the file again, and the vault takes it now.
        await File.WriteAllTextAsync(file, Resources(v2, host, port) + "\n---\n" + Secret("fresh-tls", fresh) + "\n", TestContext.Current.CancellationToken);
        await Eventually.Get(() => Net.HandshakeAsync(port, host), t => t == v2.Thumbprint, "TLS with v2 after the outage", TimeSpan.FromSeconds(60));
        await Eventually.Until(async () => (await Resource(tenant, "Secret", "fresh-tls")).GetProperty("status").GetString() == "Accepted", "the pending Secret accepted");
        await AssertNoKeyInTablesAsync(v1, v2, fresh);
    }

    private async Task AssertNoKeyInTablesAsync(params X509Certificate2[] certificates)
    {
        // Positive control: the certificates (not secret) are in the tenants' state, so the scan does read it.
        Assert.Contains(await fixture.FindInTablesAsync(VaultStorageGateway.CertificateNeedle), f => f.Contains("unpacked", StringComparison.Ordinal));

        Assert.Empty(await fixture.FindInTablesAsync([.. certificates.SelectMany(VaultStorageGateway.KeyNeedles)]));
    }

    private async Task<JsonElement> Resource(string tenant, string kind, string name) =>
        (await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/resources/{kind}/default/{name}", InProcessGateway.AdminKey)).Body;

    private async Task<string> ResourcesOf(string tenant) =>
        (await Gateway.CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/resources", InProcessGateway.AdminKey)).Body.ToString();

    private static string Messages(JsonElement resource) =>
        resource.ValueKind == JsonValueKind.Object && resource.TryGetProperty("messages", out var m) ? m.ToString() : "";

    /// <summary>A Secret web-tls with <paramref name="certificate"/>, a Host for <paramref name="host"/> and a TLS mapping on <paramref name="port"/> to the echo upstream.</summary>
    private string Resources(X509Certificate2 certificate, string host, int port, X509Certificate2? keyOf = null) => Secret("web-tls", certificate, key: keyOf is null ? null : Certs.KeyPem(keyOf)) + $$"""

        ---
        apiVersion: getambassador.io/v3alpha1
        kind: Host
        metadata: { name: web }
        spec: { hostname: {{host}}, tlsSecret: { name: web-tls } }
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata: { name: web }
        spec: { port: {{port}}, address: 127.0.0.1, host: {{host}}, service: "127.0.0.1:{{fixture.Upstream.Port}}" }
        """;
}
