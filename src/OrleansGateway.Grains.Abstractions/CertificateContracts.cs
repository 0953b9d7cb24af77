using System.Collections.Immutable;

namespace OrleansGateway.Grains;

/// <summary>
/// The TLS material of one tenant certificate, PEM text as in a Secret (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>).
/// Crosses grain calls (certificate grain → edge). It is persisted in grain state only for Secret-sourced material
/// (the key is then already in the tenant's stored Secret); Key Vault material lives in memory only.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateMaterial")]
public sealed record CertificateMaterial(
    [property: Id(0)] string Type,
    [property: Id(1)] string? TlsCrt,
    [property: Id(2)] string? TlsKey,
    [property: Id(3)] string? CaCrt)
{
    /// <summary>Never prints the key: records print every property, and material ends up in exception and log text.</summary>
    public override string ToString() => $"CertificateMaterial {{ Type = {Type}, TlsKey = {(TlsKey is null ? "none" : "(hidden)")} }}";
}

/// <summary>A certificate grain's content. <see cref="Version"/> is a hash of the material (null when there is none).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateView")]
public sealed record CertificateView(
    [property: Id(0)] string? Version,
    [property: Id(1)] CertificateMaterial? Material);

/// <summary>Where a certificate's material comes from (see docs/key-vault.md, "The chain").</summary>
public static class CertificateSources
{
    /// <summary>A <c>v1 Secret</c> resource of the tenant.</summary>
    public const string Secret = "secret";

    /// <summary>Azure Key Vault, by the name rule of docs/key-vault.md.</summary>
    public const string KeyVault = "key-vault";
}

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

/// <summary>The public facts of a certificate in service: never its key.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateInfo")]
public sealed record CertificateInfo(
    [property: Id(0)] string Subject,
    [property: Id(1)] ImmutableArray<string> DnsNames,
    [property: Id(2)] DateTimeOffset NotBefore,
    [property: Id(3)] DateTimeOffset NotAfter,
    [property: Id(4)] string Thumbprint);

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

/// <summary>A certificate a tenant uploads (management API): PEM text (certificate(s) and key) or PKCS#12 bytes.</summary>
/// <param name="Content">The file's bytes: PEM text, or a PFX.</param>
/// <param name="Password">The PFX password, if any; never stored or logged.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateUpload")]
public sealed record CertificateUpload(
    [property: Id(0)] byte[] Content,
    [property: Id(1)] string? Password)
{
    public override string ToString() => $"CertificateUpload {{ {Content.Length} bytes }}";
}
