using System.Collections.Immutable;

namespace OrleansGateway.Certificates;

/// <summary>
/// The TLS material of one tenant certificate, PEM text as in a Secret (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>).
/// Crosses grain calls (certificate grain → edge) through a surrogate of the grain contracts
/// (<c>CertificateSerialization</c>). It is persisted in grain state only for Secret-sourced material (the key is then
/// already in the tenant's stored Secret); Key Vault material lives in memory only.
/// </summary>
public sealed record CertificateMaterial(string Type, string? TlsCrt, string? TlsKey, string? CaCrt)
{
    /// <summary>Never prints the key: records print every property, and material ends up in exception and log text.</summary>
    public override string ToString() => $"CertificateMaterial {{ Type = {Type}, TlsKey = {(TlsKey is null ? "none" : "(hidden)")} }}";
}

/// <summary>The public facts of a certificate in service: never its key.</summary>
public sealed record CertificateInfo(
    string Subject, ImmutableArray<string> DnsNames, DateTimeOffset NotBefore, DateTimeOffset NotAfter, string Thumbprint);

/// <summary>A certificate a tenant uploads (management API): PEM text (certificate(s) and key) or PKCS#12 bytes.</summary>
/// <param name="Content">The file's bytes: PEM text, or a PFX.</param>
/// <param name="Password">The PFX password, if any; never stored or logged.</param>
public sealed record CertificateUpload(byte[] Content, string? Password)
{
    public override string ToString() => $"CertificateUpload {{ {Content.Length} bytes }}";
}

/// <summary>Where a certificate's material comes from (see docs/key-vault.md, "The chain").</summary>
public static class CertificateSources
{
    /// <summary>A <c>v1 Secret</c> resource of the tenant.</summary>
    public const string Secret = "secret";

    /// <summary>Azure Key Vault, by the name rule of docs/key-vault.md.</summary>
    public const string KeyVault = "key-vault";
}
