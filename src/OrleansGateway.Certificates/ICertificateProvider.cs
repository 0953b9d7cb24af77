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
