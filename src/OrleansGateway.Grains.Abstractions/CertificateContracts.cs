namespace OrleansGateway.Grains;

/// <summary>
/// The TLS material of one tenant Secret, PEM text as in the Secret (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>).
/// Held in grain state for Secret-sourced material; Key Vault references replace the key in a later issue.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateMaterial")]
public sealed record CertificateMaterial(
    [property: Id(0)] string Type,
    [property: Id(1)] string? TlsCrt,
    [property: Id(2)] string? TlsKey,
    [property: Id(3)] string? CaCrt);

/// <summary>A certificate grain's content. <see cref="Version"/> is a hash of the material (null when there is none).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateView")]
public sealed record CertificateView(
    [property: Id(0)] string? Version,
    [property: Id(1)] CertificateMaterial? Material);
