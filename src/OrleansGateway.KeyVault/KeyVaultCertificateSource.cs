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
/// type). Imports are <c>POST /certificates/{name}/import</c> as PKCS#12; a Secret resource's key is imported with the
/// tag <see cref="SecretTag"/> and read back by its version only. A tenant's purge lists <c>GET /certificates</c> and
/// <c>GET /deletedcertificates</c>, then <c>DELETE /certificates/{name}</c> and <c>DELETE /deletedcertificates/{name}</c>.
/// Names follow <see cref="KeyVaultNames"/>.
/// Errors become <see cref="CertificateSourceException"/>s with the HTTP status and what to do; response bodies and
/// key material never reach a message or the log.
/// </summary>
public sealed partial class KeyVaultCertificateSource : ICertificateSource
{
    /// <summary>
    /// The tag of a version stored from a tenant's Secret resource, valued with the SHA-256 of its material: such a
    /// version is served only while the Secret names it (docs/key-vault.md, "Secret resources").
    /// </summary>
    public const string SecretTag = "ogw-secret-sha256";

    private const string PemContentType = "application/x-pem-file";

    /// <summary>How often a soft delete is checked until the vault lists the certificate as deleted (and purgeable).</summary>
    private static readonly TimeSpan DeletePolling = TimeSpan.FromSeconds(1);

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

        if (!IsSecretVersion(certificate.Properties))
        {
            return await ReadAsync(name, certificate.Properties, knownVersion, certificate.Policy?.ContentType?.ToString(), cancellationToken).ConfigureAwait(false);
        }

        // The current version holds a Secret resource's key: only that Secret serves it (FetchVersionAsync). Here the
        // newest version that was imported otherwise (by hand, or uploaded) is current.
        var own = await NewestOwnVersionAsync(name, cancellationToken).ConfigureAwait(false);
        return own is null ? null : await ReadAsync(name, own, knownVersion, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SourcedMaterial?> FetchVersionAsync(SecretRef secret, string version, CancellationToken cancellationToken)
    {
        var name = Locate(secret);
        KeyVaultCertificate certificate;
        try
        {
            certificate = (await _certificates.GetCertificateVersionAsync(name, version, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (Failure(e, name, "read") is { } failure)
        {
            throw failure;
        }

        return await ReadAsync(name, certificate.Properties, null, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> StoreSecretAsync(SecretRef secret, CertificateMaterial material, string hash, CancellationToken cancellationToken)
    {
        var name = Locate(secret);
        try
        {
            var current = (await _certificates.GetCertificateAsync(name, cancellationToken).ConfigureAwait(false)).Value.Properties;
            if (current.Tags.TryGetValue(SecretTag, out var stored) && stored == hash && current.Enabled != false)
            {
                // An earlier apply stored this material already (e.g. one whose tenant state write failed): no new version.
                return current.Version;
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Nothing under the name yet.
        }
        catch (Exception e) when (Failure(e, name, "read") is { } failure)
        {
            throw failure;
        }

        byte[] pfx;
        try
        {
            pfx = CertificateFiles.ToPkcs12(material);
        }
        catch (Exception e) when (e is FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new CertificateSourceException($"the key of Secret {secret} cannot be stored in Key Vault certificate '{name}': {e.Message}", refused: true);
        }

        var import = new ImportCertificateOptions(name, pfx);
        import.Tags[SecretTag] = hash;
        try
        {
            var version = (await _certificates.ImportCertificateAsync(import, cancellationToken).ConfigureAwait(false)).Value.Properties.Version;
            LogStored(_logger, name, version);
            return version;
        }
        catch (Exception e) when (Failure(e, name, "import") is { } failure)
        {
            throw failure;
        }
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

    public async Task<IReadOnlyList<SecretRef>> PurgeTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        var start = KeyVaultNames.TenantPrefix(_options.Prefix, tenant);
        var active = new List<string>();
        var deleted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            await foreach (var certificate in _certificates.GetPropertiesOfCertificatesAsync(includePending: true, cancellationToken).ConfigureAwait(false))
            {
                if (certificate.Name.StartsWith(start, StringComparison.OrdinalIgnoreCase))
                {
                    active.Add(certificate.Name);
                }
            }
        }
        catch (Exception e) when (Failure(e, start + "*", "list") is { } failure)
        {
            throw failure;
        }

        await Parallel.ForEachAsync(active, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            try
            {
                var operation = await _certificates.StartDeleteCertificateAsync(name, ct).ConfigureAwait(false);
                if (operation.Value.RecoveryId is not null)
                {
                    // Soft-delete: the certificate is purgeable once the vault lists it as deleted.
                    await operation.WaitForCompletionAsync(DeletePolling, ct).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // Deleted meanwhile.
            }
            catch (Exception e) when (Failure(e, name, "delete") is { } failure)
            {
                throw failure;
            }
        }).ConfigureAwait(false);

        try
        {
            // Also what an earlier, interrupted purge deleted but did not purge.
            await foreach (var certificate in _certificates.GetDeletedCertificatesAsync(includePending: true, cancellationToken).ConfigureAwait(false))
            {
                if (certificate.Name.StartsWith(start, StringComparison.OrdinalIgnoreCase))
                {
                    deleted.Add(certificate.Name);
                }
            }
        }
        catch (Exception e) when (Failure(e, start + "*", "list deleted") is { } failure)
        {
            throw failure;
        }

        await Parallel.ForEachAsync(deleted, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            try
            {
                await _certificates.PurgeDeletedCertificateAsync(name, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // Purged meanwhile.
            }
            catch (RequestFailedException e) when (e.Status == 403)
            {
                // Purge protection (or an identity without purge permission): a deleted certificate is never served and
                // its name cannot be imported again until the vault purges it at the end of its retention period.
                LogPurgeRefused(_logger, name, e.ErrorCode);
            }
            catch (Exception e) when (Failure(e, name, "purge") is { } failure)
            {
                throw failure;
            }
        }).ConfigureAwait(false);

        var names = active.Concat(deleted).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        LogPurged(_logger, tenant, names.Count);
        var secrets = new List<SecretRef>();
        foreach (var name in names)
        {
            if (KeyVaultNames.TryRead(_options.Prefix, tenant, name, out var secret))
            {
                secrets.Add(secret);
            }
        }

        return secrets;
    }

    /// <summary>Whether this version was stored from a Secret resource (<see cref="StoreSecretAsync"/>).</summary>
    private static bool IsSecretVersion(CertificateProperties properties) => properties.Tags.ContainsKey(SecretTag);

    /// <summary>The newest version of <paramref name="name"/> not stored from a Secret resource; null when there is none.</summary>
    private async Task<CertificateProperties?> NewestOwnVersionAsync(string name, CancellationToken cancellationToken)
    {
        CertificateProperties? newest = null;
        try
        {
            await foreach (var version in _certificates.GetPropertiesOfCertificateVersionsAsync(name, cancellationToken).ConfigureAwait(false))
            {
                if (!IsSecretVersion(version) && (newest is null || version.CreatedOn > newest.CreatedOn))
                {
                    newest = version;
                }
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (Failure(e, name, "list the versions of") is { } failure)
        {
            throw failure;
        }

        return newest;
    }

    /// <summary>The material of one version (the key is its secret); null material when it is <paramref name="knownVersion"/>.</summary>
    private async Task<SourcedMaterial> ReadAsync(string name, CertificateProperties properties, string? knownVersion, string? policyContentType, CancellationToken cancellationToken)
    {
        var version = properties.Version;
        if (properties.Enabled == false)
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

        var contentType = keySecret.Properties.ContentType ?? policyContentType;
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
            (action is "import" or "delete" or "purge" or "list" or "list deleted"
                ? "'Key Vault Certificates Officer' on the vault (Secret resources and uploads are imported, a deleted tenant's certificates deleted and purged)"
                : "'Key Vault Certificate User' and 'Key Vault Secrets User' on the vault"),
            refused: false, e),
        RequestFailedException { Status: 409 } r => new CertificateSourceException(
            $"Key Vault refused to {action} {kind} '{name}' (HTTP 409 {r.ErrorCode}): a deleted certificate of that name is kept until " +
            "it is purged; purge it (az keyvault certificate purge), or wait for the end of the vault's retention period", refused: false, e),
        RequestFailedException r => new CertificateSourceException(
            $"Key Vault could not {action} {kind} '{name}' (HTTP {(r.Status == 0 ? "no response" : r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} {r.ErrorCode})", refused: false, e),
        AuthenticationFailedException or CredentialUnavailableException => new CertificateSourceException(
            $"could not get a token for Key Vault to {action} {kind} '{name}' ({e.GetType().Name}); check the managed identity or the developer login (az login)", refused: false, e),
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key Vault certificate {Name}: stored version {Version} of a Secret resource")]
    private static partial void LogStored(ILogger logger, string name, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Key Vault: removed the {Count} certificate(s) of tenant {Tenant}")]
    private static partial void LogPurged(ILogger logger, string tenant, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key Vault certificate {Name} is deleted but the vault refused to purge it ({ErrorCode}): it is never served, and its name cannot be imported again until the vault's retention period ends")]
    private static partial void LogPurgeRefused(ILogger logger, string name, string? errorCode);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key Vault certificate {Name}: read version {Version} ({ContentType})")]
    private static partial void LogRead(ILogger logger, string name, string version, string? contentType);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Key Vault secret {Name}: read version {Version}")]
    private static partial void LogSecretRead(ILogger logger, string name, string? version);
}
