using System.Text;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Certificates;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.KeyVault;

/// <summary>
/// Azure Key Vault as a <see cref="ICertificateSource"/>. A read is <c>GET /certificates/{name}</c> (the current
/// version, its attributes and policy); only when the version differs from the known one, the key comes from
/// <c>GET /secrets/{name}/{version}</c> (a certificate's private key is its secret: PKCS#12 or PEM, by content
/// type). Imports are <c>POST /certificates/{name}/import</c> as PKCS#12. Names follow <see cref="KeyVaultNames"/>.
/// Errors become <see cref="CertificateSourceException"/>s with the HTTP status and what to do; response bodies and
/// key material never reach a message or the log.
/// </summary>
public sealed partial class KeyVaultCertificateSource : ICertificateSource
{
    private const string PemContentType = "application/x-pem-file";

    private readonly CertificateClient _certificates;
    private readonly SecretClient _secrets;
    private readonly KeyVaultOptions _options;
    private readonly ILogger _logger;

    public KeyVaultCertificateSource(KeyVaultOptions options, TokenCredential credential, ILogger<KeyVaultCertificateSource> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(credential);
        if (options.VaultUri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"--key-vault-uri: '{options.VaultUri}' must be an https URI, e.g. https://my-vault.vault.azure.net/.", nameof(options));
        }

        KeyVaultNames.TenantPrefix(options.Prefix, "check");
        _options = options;
        _logger = logger;

        var certificateOptions = new CertificateClientOptions { DisableChallengeResourceVerification = options.DisableChallengeResourceVerification };
        var secretOptions = new SecretClientOptions { DisableChallengeResourceVerification = options.DisableChallengeResourceVerification };
        foreach (var clientOptions in new ClientOptions[] { certificateOptions, secretOptions })
        {
            // A read runs inside a grain call (30 s limit) that may be a tenant's apply: fail fast, the next refresh retries.
            clientOptions.Retry.MaxRetries = 2;
            clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
            clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(2);
            options.ConfigureClient?.Invoke(clientOptions);
        }

        _certificates = new CertificateClient(options.VaultUri, credential, certificateOptions);
        _secrets = new SecretClient(options.VaultUri, credential, secretOptions);
    }

    public string Name => CertificateSources.KeyVault;

    public TimeSpan RefreshInterval => _options.RefreshInterval;

    public string Locate(SecretRef secret) => KeyVaultNames.For(_options.Prefix, secret);

    public Task<SourcedMaterial?> FetchAsync(SecretRef secret, string? knownVersion, CancellationToken cancellationToken)
        => FetchAsync(Locate(secret), knownVersion, cancellationToken);

    /// <summary>
    /// The certificate the vault holds under <paramref name="name"/> itself, outside the tenants' name rule: what the
    /// operator names for the gateway's own use (<c>--api-key-vault-certificate</c>). As <see cref="FetchAsync(SecretRef, string?, CancellationToken)"/>.
    /// </summary>
    public async Task<SourcedMaterial?> FetchAsync(string name, string? knownVersion, CancellationToken cancellationToken)
    {
        KeyVaultCertificateWithPolicy certificate;
        try
        {
            certificate = (await _certificates.GetCertificateAsync(name, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (Failure(e, name, "read") is { } failure)
        {
            throw failure;
        }

        var version = certificate.Properties.Version;
        if (certificate.Properties.Enabled == false)
        {
            throw new CertificateSourceException($"Key Vault certificate '{name}' version {version} is disabled; enable it or import a new version", refused: true);
        }

        if (version == knownVersion)
        {
            return new SourcedMaterial(version, null);
        }

        KeyVaultSecret keySecret;
        try
        {
            keySecret = (await _secrets.GetSecretAsync(name, version, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (Exception e) when (Failure(e, name, "read the key (secret) of") is { } failure)
        {
            throw failure;
        }

        var contentType = keySecret.Properties.ContentType ?? certificate.Policy?.ContentType?.ToString();
        LogRead(_logger, name, version, contentType);
        return new SourcedMaterial(version, ToMaterial(name, version, keySecret.Value, contentType));
    }

    /// <summary>
    /// The current value of the plain secret <paramref name="name"/> (<c>GET /secrets/{name}</c>): what the operator names
    /// for the gateway's own use (<c>--admin-key-vault-secret</c>); null when the vault has no secret of that name. The
    /// value never reaches a message or the log.
    /// </summary>
    public async Task<string?> ReadSecretAsync(string name, CancellationToken cancellationToken)
    {
        KeyVaultSecret secret;
        try
        {
            secret = (await _secrets.GetSecretAsync(name, version: null, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (Failure(e, name, "read", "secret") is { } failure)
        {
            throw failure;
        }

        if (secret.Properties.Enabled == false)
        {
            throw new CertificateSourceException($"Key Vault secret '{name}' version {secret.Properties.Version} is disabled; enable it or set a new version", refused: true);
        }

        LogSecretRead(_logger, name, secret.Properties.Version);
        return secret.Value;
    }

    public async Task<string> ImportAsync(SecretRef secret, CertificateMaterial material, CancellationToken cancellationToken)
    {
        var name = Locate(secret);
        var import = new ImportCertificateOptions(name, CertificateFiles.ToPkcs12(material));
        try
        {
            var imported = (await _certificates.ImportCertificateAsync(import, cancellationToken).ConfigureAwait(false)).Value;
            return imported.Properties.Version;
        }
        catch (Exception e) when (Failure(e, name, "import") is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>The key secret's value → PEM material; an unreadable value is refused (not an outage).</summary>
    private static CertificateMaterial ToMaterial(string name, string version, string value, string? contentType)
    {
        try
        {
            return string.Equals(contentType, PemContentType, StringComparison.OrdinalIgnoreCase)
                ? CertificateFiles.FromPem(value)
                : CertificateFiles.FromPkcs12(Convert.FromBase64String(value), null);
        }
        catch (FormatException e)
        {
            throw new CertificateSourceException($"Key Vault certificate '{name}' version {version} ({contentType ?? "no content type"}) is unreadable: {e.Message}", refused: true);
        }
    }

    /// <summary>The exceptions a vault call can end with → a message with the status and what to do; null for others.</summary>
    private static CertificateSourceException? Failure(Exception e, string name, string action, string kind = "certificate") => e switch
    {
        RequestFailedException { Status: 401 or 403 } r => new CertificateSourceException(
            $"Key Vault refused to {action} {kind} '{name}' (HTTP {r.Status} {r.ErrorCode}); grant the gateway's identity the roles " +
            "'Key Vault Certificate User' and 'Key Vault Secrets User' on the vault", refused: false, e),
        RequestFailedException r => new CertificateSourceException(
            $"Key Vault could not {action} {kind} '{name}' (HTTP {(r.Status == 0 ? "no response" : r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} {r.ErrorCode})", refused: false, e),
        AuthenticationFailedException or CredentialUnavailableException => new CertificateSourceException(
            $"could not get a token for Key Vault to {action} {kind} '{name}' ({e.GetType().Name}); check the managed identity or the developer login (az login)", refused: false, e),
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key Vault certificate {Name}: read version {Version} ({ContentType})")]
    private static partial void LogRead(ILogger logger, string name, string version, string? contentType);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key Vault secret {Name}: read version {Version}")]
    private static partial void LogSecretRead(ILogger logger, string name, string? version);
}
