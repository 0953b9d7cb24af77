using Microsoft.Extensions.Logging.Abstractions;
using OrleansGateway.Certificates;
using OrleansGateway.KeyVault.Tests.TestSupport;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault.Tests;

/// <summary>The real SDK clients (through <see cref="KeyVaultCertificateSource"/>) against the HTTPS stand-in.</summary>
public sealed class KeyVaultSourceTests : IAsyncLifetime
{
    private static readonly SecretRef Secret = new("default", "web") { Tenant = "acme" };

    private VaultStandIn _vault = null!;
    private KeyVaultCertificateSource _source = null!;

    public async ValueTask InitializeAsync()
    {
        _vault = await VaultStandIn.StartAsync();
        _source = new KeyVaultCertificateSource(_vault.Options(), new FixedTokenCredential(), NullLogger<KeyVaultCertificateSource>.Instance);
    }

    public async ValueTask DisposeAsync() => await _vault.DisposeAsync();

    [Fact]
    public async Task Reads_a_PFX_certificate_with_its_key_after_the_bearer_challenge()
    {
        using var certificate = Certs.Valid("web.example.com");
        var version = _vault.PutPfx(_source.Locate(Secret), certificate);

        var fetched = await _source.FetchAsync(Secret, null, CancellationToken.None);

        Assert.Equal(version, fetched!.Version);
        Assert.Null(CertificateFiles.Check(fetched.Material!, DateTimeOffset.UtcNow, out var info));
        Assert.Equal(certificate.Thumbprint, info!.Thumbprint);
        Assert.Equal(["web.example.com"], info.DnsNames.ToArray());
    }

    [Fact]
    public async Task Reads_a_PEM_certificate()
    {
        using var certificate = Certs.Valid("pem.example.com");
        _vault.PutPem(_source.Locate(Secret), certificate, certificate.ExportCertificatePem(), Certs.KeyPem(certificate));

        var fetched = await _source.FetchAsync(Secret, null, CancellationToken.None);

        Assert.Null(CertificateFiles.Check(fetched!.Material!, DateTimeOffset.UtcNow, out var info));
        Assert.Equal(certificate.Thumbprint, info!.Thumbprint);
    }

    [Fact]
    public async Task A_known_version_is_checked_without_reading_the_key_again()
    {
        using var certificate = Certs.Valid("web.example.com");
        var version = _vault.PutPfx(_source.Locate(Secret), certificate);
        await _source.FetchAsync(Secret, null, CancellationToken.None);
        var keyReads = _vault.Requests("GET", "/secrets/");

        var again = await _source.FetchAsync(Secret, version, CancellationToken.None);

        Assert.Equal(version, again!.Version);
        Assert.Null(again.Material);
        Assert.Equal(keyReads, _vault.Requests("GET", "/secrets/"));
    }

    [Fact]
    public async Task A_missing_certificate_is_null()
    {
        Assert.Null(await _source.FetchAsync(Secret with { Name = "missing" }, null, CancellationToken.None));
    }

    [Fact]
    public async Task An_outage_is_an_unavailable_source_error_naming_the_certificate()
    {
        _vault.Outage = true;

        var e = await Assert.ThrowsAsync<CertificateSourceException>(() => _source.FetchAsync(Secret, null, CancellationToken.None));

        Assert.False(e.Refused);
        Assert.Contains(_source.Locate(Secret), e.Message, StringComparison.Ordinal);
        Assert.Contains("503", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_token_says_which_roles_the_identity_needs()
    {
        var source = new KeyVaultCertificateSource(_vault.Options(), new FixedTokenCredential("not-the-token"), NullLogger<KeyVaultCertificateSource>.Instance);

        var e = await Assert.ThrowsAsync<CertificateSourceException>(() => source.FetchAsync(Secret, null, CancellationToken.None));

        Assert.Contains("401", e.Message, StringComparison.Ordinal);
        Assert.Contains("Key Vault Certificate User", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_import_becomes_the_current_version()
    {
        using var certificate = Certs.Valid("up.example.com");
        var material = CertificateFiles.FromPem(certificate.ExportCertificatePem() + "\n" + Certs.KeyPem(certificate));

        var version = await _source.ImportAsync(Secret, material, CancellationToken.None);
        var fetched = await _source.FetchAsync(Secret, null, CancellationToken.None);

        Assert.Equal(version, fetched!.Version);
        Assert.Null(CertificateFiles.Check(fetched.Material!, DateTimeOffset.UtcNow, out var info));
        Assert.Equal(certificate.Thumbprint, info!.Thumbprint);
    }

    [Fact]
    public void The_vault_uri_must_be_https()
    {
        var options = new KeyVaultOptions { VaultUri = new Uri("http://127.0.0.1:1/") };
        var e = Assert.Throws<ArgumentException>(() => new KeyVaultCertificateSource(options, new FixedTokenCredential(), NullLogger<KeyVaultCertificateSource>.Instance));
        Assert.Contains("--key-vault-uri", e.Message, StringComparison.Ordinal);
    }
}
