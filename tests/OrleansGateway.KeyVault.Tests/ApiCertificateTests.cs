using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains;
using OrleansGateway.KeyVault.Tests.TestSupport;
using OrleansGateway.Model;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// The management API's certificate endpoints on the real gateway process (in-process, memory storage) with
/// <c>--key-vault-uri</c> pointing at the stand-in; the gateway's Key Vault source gets the stand-in's trust and token.
/// </summary>
public sealed class ApiCertificateTests : IAsyncLifetime
{
    private const string AdminKey = "admin-key-for-keyvault-tests-0123456789";

    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _error = new();
    private readonly CapturedLogs _logs = new();
    private VaultStandIn _vault = null!;
    private HttpClient _http = null!;
    private string _directory = "";
    private Task<int> _run = Task.FromResult(0);

    public async Task InitializeAsync()
    {
        _vault = await VaultStandIn.StartAsync();
        _directory = Directory.CreateTempSubdirectory("ogw-kv-api-").FullName;
        var keyFile = Path.Combine(_directory, "admin.key");
        await File.WriteAllTextAsync(keyFile, AdminKey);
        var apiPort = Net.FreePort();
        string[] args =
        [
            "--storage", "memory", "--clustering", "localhost", "--silo-port", $"{Net.FreePort()}", "--gateway-port", $"{Net.FreePort()}",
            "--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1", "--admin-key-file", keyFile,
            "--key-vault-uri", _vault.VaultUri.ToString(),
        ];
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(30) };
        _run = Task.Run(() => Silo.Program.RunAsync(args, TextWriter.Null, _error, Configure, _stop.Token));
        await Eventually.Get(async () => _run.IsCompleted || (await _http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, ok => ok, "the gateway to start", TimeSpan.FromSeconds(60));
        Assert.False(_run.IsCompleted, $"the gateway stopped: {_error}");
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
        _http.Dispose();
        await _vault.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_tenant_uploads_a_PEM_certificate_into_the_vault_and_sees_its_facts_but_never_its_key()
    {
        var key = await CreateTenantAsync("kv-api");
        using var certificate = Certs.Valid("api.vault.test");
        var pem = certificate.ExportCertificatePem() + "\n" + Certs.KeyPem(certificate);

        var (status, body) = await CallAsync(HttpMethod.Post, "/api/v1/tenants/kv-api/certificates", key, Json(new { name = "web-tls", pem }));

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var vaultName = KeyVaultNames.For("ogw", new SecretRef("default", "web-tls") { Tenant = "kv-api" });
        Assert.True(_vault.Has(vaultName));
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

        Assert.DoesNotContain(Certs.KeyFingerprint(certificate), _logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_referenced_vault_certificate_is_listed_and_another_tenant_cannot_read_it()
    {
        var key = await CreateTenantAsync("kv-list");
        var other = await CreateTenantAsync("kv-other");
        using var certificate = Certs.Valid("list.vault.test");
        _vault.PutPfx(KeyVaultNames.For("ogw", new SecretRef("default", "list-tls") { Tenant = "kv-list" }), certificate);
        var yaml = $$"""
            apiVersion: getambassador.io/v3alpha1
            kind: Host
            metadata: { name: h }
            spec: { hostname: list.vault.test, tlsSecret: { name: list-tls } }
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata: { name: m }
            spec: { port: {{Net.FreePort()}}, host: list.vault.test, service: "127.0.0.1:9" }
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
        Assert.False(_vault.Has(KeyVaultNames.For("ogw", new SecretRef("default", "old") { Tenant = "kv-bad" })));
    }

    private void Configure(WebApplicationBuilder builder)
    {
        builder.Logging.AddProvider(_logs);
        builder.Logging.AddFilter<CapturedLogs>("OrleansGateway", LogLevel.Trace);

        // The gateway registered Key Vault with DefaultAzureCredential; the stand-in needs its own trust and token.
        var options = _vault.Options();
        builder.Services.AddSingleton<ICertificateSource>(sp =>
            new KeyVaultCertificateSource(options, new FixedTokenCredential(), sp.GetRequiredService<ILogger<KeyVaultCertificateSource>>()));
    }

    private async Task<string> CreateTenantAsync(string name)
    {
        var (created, body) = await CallAsync(HttpMethod.Post, "/api/v1/tenants", AdminKey, Json(new { name }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        var (_, key) = await CallAsync(HttpMethod.Post, $"/api/v1/tenants/{name}/keys", AdminKey, Json(new { description = "test" }));
        return key.GetProperty("token").GetString()!;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(HttpMethod method, string path, string key, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
