using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Model;

namespace OrleansGateway.Proxy;

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

/// <summary>Random source for canary picks; injected so tests can seed it.</summary>
public interface IRandomSource
{
    /// <summary>A uniformly distributed value in [0, 1).</summary>
    double NextDouble();
}

/// <summary>Data-plane settings that do not come from resources.</summary>
public sealed record ProxyOptions
{
    /// <summary>Slow clients are closed if the TLS handshake (including the ClientHello peek) takes longer.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long connections of a removed listener may continue before they are closed (Emissary: 600 s).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>On a TLS-inspecting port with a host-less catch-all, a client that sends nothing for this long is
    /// handed to the catch-all (server-first protocols such as MySQL).</summary>
    public TimeSpan ServerFirstPeekTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Size of the pooled buffer a copy loop rents while data flows.</summary>
    public int BufferSize { get; init; } = 64 * 1024;
}

/// <summary>What happened to one listener of a plan when it was applied.</summary>
/// <param name="Error">Null when bound; otherwise what went wrong and what to do (e.g. "port 80 needs root").</param>
public sealed record ListenerBindResult(ListenerEndpoint Endpoint, bool Bound, string? Error, ImmutableArray<ResourceRef> Resources);

public sealed record ApplyResult(long Generation, ImmutableArray<ListenerBindResult> Listeners)
{
    public IEnumerable<ListenerBindResult> Failed => Listeners.Where(l => !l.Bound);
}
