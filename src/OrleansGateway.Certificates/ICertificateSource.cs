using OrleansGateway.Model.Plan;

namespace OrleansGateway.Certificates;

/// <summary>
/// A store of TLS material outside the tenant's resources: the second link of the certificate chain (the first is
/// the tenant's own Secret resource, pushed by the tenant grain). Registered in the silo's services when one is
/// configured (Azure Key Vault: <c>OrleansGateway.KeyVault</c>); certificate grains read it, tenant grains compile
/// with <see cref="CompileOptions.SecretsExternal"/> when it is there. Must be the same on every silo.
/// </summary>
public interface ICertificateSource
{
    /// <summary>Shown as a certificate's source (<see cref="CertificateSources"/>).</summary>
    string Name { get; }

    /// <summary>How often certificate grains read the source again (rotation is served within this).</summary>
    TimeSpan RefreshInterval { get; }

    /// <summary>
    /// Where the source keeps <paramref name="secret"/> (e.g. the Key Vault certificate name). Distinct for every
    /// (tenant, namespace, name): one tenant can never name another's. Throws <see cref="ArgumentException"/> with
    /// the reason when the secret cannot be named there.
    /// </summary>
    string Locate(SecretRef secret);

    /// <summary>
    /// The current material of <paramref name="secret"/> (its newest version that no Secret resource stored, see
    /// <see cref="StoreSecretAsync"/>); null when the source has none. When its version equals
    /// <paramref name="knownVersion"/> the material is not read again (<see cref="SourcedMaterial.Material"/> null).
    /// Throws <see cref="CertificateSourceException"/> when the source cannot be reached or its content is unreadable.
    /// </summary>
    Task<SourcedMaterial?> FetchAsync(SecretRef secret, string? knownVersion, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="material"/> (certificate, chain and key) as the new version of <paramref name="secret"/>.</summary>
    Task<string> ImportAsync(SecretRef secret, CertificateMaterial material, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps the key of a tenant's Secret resource: stores <paramref name="material"/> as a version of
    /// <paramref name="secret"/> marked as the Secret's, whose hash is <paramref name="hash"/>, and returns its version.
    /// When the source's current version already is that material (same hash), nothing is stored and its version is
    /// returned, so applying the same Secret again adds no version. A version stored here is served only through
    /// <see cref="FetchVersionAsync"/> (by the Secret that names it), never by <see cref="FetchAsync"/>. Throws
    /// <see cref="CertificateSourceException"/> when the source cannot take it.
    /// </summary>
    Task<string> StoreSecretAsync(SecretRef secret, CertificateMaterial material, string hash, CancellationToken cancellationToken);

    /// <summary>Version <paramref name="version"/> of <paramref name="secret"/>; null when the source has no such version.</summary>
    Task<SourcedMaterial?> FetchVersionAsync(SecretRef secret, string version, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every certificate the source keeps for <paramref name="tenant"/>, for good where the source can (Key
    /// Vault: delete, then purge), and returns them. Throws <see cref="CertificateSourceException"/> when one is left
    /// that could still be served.
    /// </summary>
    Task<IReadOnlyList<SecretRef>> PurgeTenantAsync(string tenant, CancellationToken cancellationToken);
}

/// <param name="Version">The source's version id of the material.</param>
/// <param name="Material">Null when the version is the one the caller knows.</param>
public sealed record SourcedMaterial(string Version, CertificateMaterial? Material);

/// <summary>A source failed. The message names the certificate and the cause and never holds key material.</summary>
/// <param name="refused">True when the source answered but its content is unusable (not an outage).</param>
public sealed class CertificateSourceException(string message, bool refused, Exception? innerException = null)
    : Exception(message, innerException)
{
    public bool Refused { get; } = refused;
}
