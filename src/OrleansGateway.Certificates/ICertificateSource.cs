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
    /// The current material of <paramref name="secret"/>; null when the source has none. When its version equals
    /// <paramref name="knownVersion"/> the material is not read again (<see cref="SourcedMaterial.Material"/> null).
    /// Throws <see cref="CertificateSourceException"/> when the source cannot be reached or its content is unreadable.
    /// </summary>
    Task<SourcedMaterial?> FetchAsync(SecretRef secret, string? knownVersion, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="material"/> (certificate, chain and key) as the new version of <paramref name="secret"/>.</summary>
    Task<string> ImportAsync(SecretRef secret, CertificateMaterial material, CancellationToken cancellationToken);
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
