using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.KeyVault.Tests.TestSupport;
using OrleansGateway.Silo;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>
/// The API's own secrets from the vault, as the azd deployment passes them (docs/api.md, "Serving the API"):
/// <c>--api-key-vault-certificate</c> serves HTTPS with a vault certificate and follows its rotation,
/// <c>--admin-key-vault-secret</c> is the admin key; both through the real SDK clients against the stand-in, on the
/// real gateway in-process, with real HTTPS requests.
/// </summary>
public sealed class ApiServingFromVaultTests
{
    private const string CertificateName = "ogw-api";
    private const string SecretName = "ogw-admin-key";

    [Fact]
    public async Task The_API_serves_HTTPS_with_the_vault_certificate_and_takes_the_admin_key_from_the_vault_secret()
    {
        await using var vault = await VaultStandIn.StartAsync();
        using var first = Certs.Valid("api.gateway.test");
        using var second = Certs.Valid("api.gateway.test");
        vault.PutPfx(CertificateName, first);
        var adminKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(33));
        vault.PutSecret(SecretName, adminKey);
        var served = new ConcurrentQueue<string>();

        await using var gateway = await InProcessGateway.StartAsync(
            vault,
            ["--api-key-vault-certificate", CertificateName, "--admin-key-vault-secret", SecretName, "--certificate-refresh", "10s"],
            "https",
            Trusting([first, second], served));

        Assert.Equal(first.Thumbprint, served.Last());
        var (tenants, _) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", adminKey);
        Assert.Equal(HttpStatusCode.OK, tenants);

        // The key of --admin-key-file that the other tests use is not this gateway's: only the vault's opens the API.
        var (refused, _) = await gateway.CallAsync(HttpMethod.Get, "/api/v1/tenants", InProcessGateway.AdminKey);
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
        using var metrics = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        metrics.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.SendAsync(metrics, TestContext.Current.CancellationToken)).StatusCode);

        // A new version in the vault reaches new connections within the refresh.
        vault.PutPfx(CertificateName, second);
        await Eventually.Until(
            async () =>
            {
                using var fresh = new HttpClient(Trusting([first, second], served)) { BaseAddress = gateway.Http.BaseAddress };
                using var healthz = await fresh.GetAsync("/healthz", TestContext.Current.CancellationToken);
                return healthz.IsSuccessStatusCode && served.Last() == second.Thumbprint;
            },
            "the rotated certificate to be served",
            TimeSpan.FromSeconds(60));

        Assert.DoesNotContain(adminKey, gateway.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(Certs.KeyFingerprint(first), gateway.Logs.All, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Lines, l => l.Contains("The admin key is the Key Vault secret " + SecretName, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, "has no secret of that name")]
    [InlineData("too-short", "has 9 characters; give at least 16")]
    public async Task A_missing_or_weak_admin_key_secret_stops_the_start_naming_it_and_never_quoting_it(string? value, string expected)
    {
        await using var vault = await VaultStandIn.StartAsync();
        if (value is not null)
        {
            vault.PutSecret(SecretName, value);
        }

        var (exit, error) = await InProcessGateway.RunToExitAsync(vault, ["--admin-key-vault-secret", SecretName]);

        Assert.Equal(1, exit);
        Assert.Contains($"gateway: --admin-key-vault-secret '{SecretName}': ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        if (value is not null)
        {
            Assert.DoesNotContain(value, error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "--admin-key-vault-secret", SecretName }, "--admin-key-vault-secret 'ogw-admin-key' needs --key-vault-uri")]
    [InlineData(new[] { "--admin-key-vault-secret", SecretName, "--key-vault-uri", "https://v.vault.azure.net/", "--admin-key-file", "/dev/null" }, "both name the admin key; give one")]
    [InlineData(new[] { "--api-key-vault-certificate", CertificateName, "--key-vault-uri", "https://v.vault.azure.net/" }, "is http but the API has a certificate")]
    public async Task Vault_options_that_cannot_work_are_a_usage_error(string[] options, string expected)
    {
        var error = new StringWriter();
        var exit = await Program.RunAsync(["--storage", "memory", .. options], new StringWriter(), error, CancellationToken.None);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A handler that accepts exactly <paramref name="expected"/> as the server's certificate and records each one served.</summary>
    private static SocketsHttpHandler Trusting(X509Certificate2[] expected, ConcurrentQueue<string> served) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                var thumbprint = certificate is null ? "" : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()).Thumbprint;
                served.Enqueue(thumbprint);
                return expected.Any(e => e.Thumbprint == thumbprint);
            },
        },
    };
}
