using OrleansGateway.Certificates;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>A certificate grain's content. <see cref="Version"/> is a hash of the material (null when there is none).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateView")]
public sealed record CertificateView(
    [property: Id(0)] string? Version,
    [property: Id(1)] CertificateMaterial? Material);

/// <summary>What a certificate grain can say about its material.</summary>
public enum CertificateHealth
{
    /// <summary>Not read yet (just activated, or the source was never reached).</summary>
    Pending,

    /// <summary>The current material is in service.</summary>
    Ready,

    /// <summary>The source answered with material that is refused (expired, not yet valid, key mismatch, unreadable); the last good material, if any, stays in service.</summary>
    Refused,

    /// <summary>The source could not be reached; the last good material, if any, stays in service.</summary>
    Unavailable,

    /// <summary>The source has no such certificate; nothing is served.</summary>
    NotFound,
}

/// <summary>
/// A certificate grain's status, for the management API and tests. Holds no key material.
/// </summary>
/// <param name="Source">One of <see cref="CertificateSources"/>, null when the grain holds nothing.</param>
/// <param name="Location">Where the source keeps it: the Key Vault certificate name; null for Secrets.</param>
/// <param name="SourceVersion">The source's version of the material in service (Key Vault version id).</param>
/// <param name="Message">Why the state is not Ready (names the certificate and what to do); null when Ready.</param>
/// <param name="Serving">The certificate in service (the last good one when the state is Refused or Unavailable).</param>
/// <param name="LastChecked">When the source was last asked (null for Secrets: they are pushed).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateStatus")]
public sealed record CertificateStatus(
    [property: Id(0)] string? Source,
    [property: Id(1)] string? Location,
    [property: Id(2)] string? SourceVersion,
    [property: Id(3)] CertificateHealth State,
    [property: Id(4)] string? Message,
    [property: Id(5)] CertificateInfo? Serving,
    [property: Id(6)] DateTimeOffset? LastChecked);
