using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Certificates;

/// <summary>
/// Hands the data plane ready certificates for the secrets a plan names. Implementations must be cheap and
/// thread-safe: they are called on the handshake path (never on the copy path).
/// </summary>
public interface ICertificateProvider
{
    /// <summary>A certificate with its private key (and chain, if any), for serving or as a client certificate; null when unknown.</summary>
    X509Certificate2? GetCertificate(SecretRef secret);

    /// <summary>The chain certificates that come with <see cref="GetCertificate"/> (intermediates), possibly empty.</summary>
    X509Certificate2Collection GetChain(SecretRef secret);

    /// <summary>CA certificates for verifying peers (<c>ca_secret</c>); null when unknown.</summary>
    X509Certificate2Collection? GetCaCertificates(SecretRef secret);
}

/// <summary>
/// A provider that keeps each serving certificate prepared for <see cref="System.Net.Security.SslStream"/> (its chain
/// built once). The data plane takes the prepared context from it instead of building one per route, so a listener
/// with thousands of routes under one certificate costs one chain build, not one per route and per apply.
/// </summary>
public interface IServerCertificateContexts
{
    /// <summary>The prepared context of <paramref name="secret"/>; null when it has no usable certificate and key.</summary>
    System.Net.Security.SslStreamCertificateContext? GetServerContext(SecretRef secret);
}
