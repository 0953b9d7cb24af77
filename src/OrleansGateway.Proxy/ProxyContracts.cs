using System.Collections.Immutable;
using System.Net;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

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

    /// <summary>Ports of the gateway process itself (silo, Orleans gateway, management API): an upstream on a local
    /// address (loopback, unspecified, an interface of this machine) with one of these ports is refused, and no listener
    /// binds them. The cluster's other silos add theirs (<see cref="ProxyServer.UseClusterEndpoints"/>).</summary>
    public ImmutableHashSet<int> ProtectedPorts { get; init; } = [];

    /// <summary>Whether upstreams may be link-local (169.254.0.0/16, fe80::/10), where cloud instance metadata answers.</summary>
    public bool AllowLinkLocalUpstreams { get; init; }

    /// <summary>Ranges the operator opens in the gateway's own egress rules (<c>--allow-upstream</c>): an address in one
    /// is not refused for being link-local, cloud metadata or an endpoint of the gateway (tenants' quotas still apply).</summary>
    public ImmutableArray<IPNetwork> AllowedUpstreamNetworks { get; init; } = [];

    /// <summary>
    /// Which engine relays connections (docs/data-plane.md, "The native relay engine"). <see cref="RelayEngine.Native"/>
    /// (the default) falls back to <see cref="RelayEngine.Managed"/> where it cannot run (not Linux), with a log line
    /// that says why.
    /// </summary>
    public RelayEngine RelayEngine { get; init; } = RelayEngine.Native;

    /// <summary>Native engine: cleartext bulk transfers move through a pipe with splice(2) instead of being copied.</summary>
    public bool Splice { get; init; } = true;

    /// <summary>Native engine: event loops (threads), each with its own epoll set; 0 = one per CPU.</summary>
    public int EventLoops { get; init; }

    /// <summary>
    /// Peers that may send a PROXY protocol header to a listener whose stack has PROXY (<c>--proxy-protocol-trusted</c>);
    /// empty: any peer may (as Envoy). A connection from another peer is closed before anything is read
    /// (<see cref="CloseReason.ProxyPeerUntrusted"/>).
    /// </summary>
    public ImmutableArray<IPNetwork> ProxyProtocolTrustedNetworks { get; init; } = [];

    // Connection limits (docs/data-plane.md, "Connection limits"): checked at accept, a refused connection is closed at
    // once. 0 or less: no limit.

    /// <summary>Client connections open at once in this process, all listeners together.</summary>
    public int MaxConnections { get; init; } = 100_000;

    /// <summary>Client connections open at once on one listener (one address and port).</summary>
    public int MaxConnectionsPerListener { get; init; } = 50_000;

    /// <summary>Client connections open at once from one client address (IPv4 and its IPv4-mapped IPv6 form are one).</summary>
    public int MaxConnectionsPerSource { get; init; } = 10_000;

    /// <summary>
    /// Connections of TLS-inspecting listeners before their route and client handshake are done (ClientHello peek,
    /// server-first wait, TLS termination): the pre-handshake budget, shared by all tenants.
    /// </summary>
    public int MaxTlsHandshakes { get; init; } = 5_000;

    /// <summary>TCP keepalive on client and upstream sockets, so that a peer that vanished is noticed; null: off.</summary>
    public TcpKeepAlive? KeepAlive { get; init; } = TcpKeepAlive.Default;

    /// <summary>
    /// The idle timeout of an upstream whose mapping sets none (a mapping's <c>idle_timeout_ms</c> overrides it); null:
    /// such connections never time out. One hour, Envoy's tcp_proxy default.
    /// </summary>
    public TimeSpan? DefaultIdleTimeout { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>TCP keepalive: the first probe after <paramref name="Idle"/> of silence, then every <paramref name="Interval"/>; the peer is dead after <paramref name="Probes"/> unanswered probes.</summary>
public sealed record TcpKeepAlive(TimeSpan Idle, TimeSpan Interval, int Probes)
{
    /// <summary>A dead peer is noticed within about two minutes of silence (60 s + 6 × 10 s), not the kernel's two hours.</summary>
    public static readonly TcpKeepAlive Default = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), 6);

    /// <summary>Turns keepalive on for <paramref name="socket"/> (a listening socket passes it on to the sockets it accepts, on Linux).</summary>
    public void Apply(System.Net.Sockets.Socket socket)
    {
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveTime, Seconds(Idle));
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveInterval, Seconds(Interval));
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveRetryCount, Probes);
    }

    /// <summary>The same on a raw fd (the native engine's upstream sockets).</summary>
    internal void Apply(int fd)
    {
        Native.Libc.SetInt(fd, Native.Libc.SOL_SOCKET, Native.Libc.SO_KEEPALIVE, 1);
        Native.Libc.SetInt(fd, Native.Libc.IPPROTO_TCP, Native.Libc.TCP_KEEPIDLE, Seconds(Idle));
        Native.Libc.SetInt(fd, Native.Libc.IPPROTO_TCP, Native.Libc.TCP_KEEPINTVL, Seconds(Interval));
        Native.Libc.SetInt(fd, Native.Libc.IPPROTO_TCP, Native.Libc.TCP_KEEPCNT, Probes);
    }

    private static int Seconds(TimeSpan value) => Math.Max(1, (int)Math.Ceiling(value.TotalSeconds));
}

/// <summary>The engine that relays connections.</summary>
public enum RelayEngine
{
    /// <summary>
    /// Linux: event loops of the gateway's own (epoll, accept4, recv/send, splice) for cleartext connections; TLS
    /// connections are handed to the managed path's SslStream. Elsewhere the managed engine.
    /// </summary>
    Native,

    /// <summary>The .NET runtime's sockets (its socket engine and thread pool) for every connection.</summary>
    Managed,
}

/// <summary>Turns an upstream host name into addresses. Injected so tests control resolution.</summary>
public interface IUpstreamResolver
{
    /// <summary>Every address of <paramref name="host"/>; throws (e.g. <see cref="System.Net.Sockets.SocketException"/>) when it cannot be resolved.</summary>
    ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken);

    /// <summary>
    /// Where to dial <paramref name="target"/>: by default every address of <see cref="ResolveAsync"/> at the target's
    /// port. A resolver whose answers carry ports of their own (Kubernetes endpoints: a pod's address and the Service's
    /// target port) answers here; throws, with a message saying why, when there is nothing to dial.
    /// </summary>
    async ValueTask<IPEndPoint[]> ResolveEndpointsAsync(ServiceAddress target, ResolverPlan resolver, CancellationToken cancellationToken)
        => [.. (await ResolveAsync(target.Host, resolver, cancellationToken).ConfigureAwait(false)).Select(a => new IPEndPoint(a, target.Port))];
}

/// <summary>The default resolver: the operating system's DNS (what KubernetesServiceResolver means inside a cluster).</summary>
public sealed class DnsUpstreamResolver : IUpstreamResolver
{
    public static readonly DnsUpstreamResolver Instance = new();

    public async ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken)
        => await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
}

/// <summary>Why a proxied connection ended: the access log and the metrics both use it.</summary>
public enum CloseReason
{
    /// <summary>Both directions ended normally; the client finished first.</summary>
    ClientClosed,

    /// <summary>Both directions ended normally; the upstream finished first.</summary>
    UpstreamClosed,

    /// <summary>The client reset the connection or could no longer be written to.</summary>
    ClientReset,

    /// <summary>The upstream reset the connection or could no longer be written to (the client is reset too).</summary>
    UpstreamReset,

    /// <summary>No byte moved either way for the upstream's idle timeout.</summary>
    IdleTimeout,

    /// <summary>The upstream did not accept within its connect timeout.</summary>
    ConnectTimeout,

    /// <summary>Every upstream address refused the connection.</summary>
    UpstreamRefused,

    /// <summary>The upstream addresses were unreachable (no route, network down).</summary>
    UpstreamUnreachable,

    /// <summary>The upstream host name did not resolve to a usable address.</summary>
    ResolveFailed,

    /// <summary>Every upstream address was refused before dialling: an endpoint of the gateway itself, link-local, cloud
    /// metadata, or outside the tenant's quota <c>AllowedUpstreams</c>; no byte reached any of them.</summary>
    UpstreamForbidden,

    /// <summary>The upstream cluster's circuit breaker (max_connections / max_pending_requests) was full.</summary>
    CircuitOpen,

    /// <summary>The route's tenant was at its concurrent-connection limit on this edge (<see cref="GatewayPlan.ConnectionLimits"/>).</summary>
    TenantQuota,

    /// <summary>No route takes this connection (unknown SNI without catch-all, plaintext on a TLS-only port, ...).</summary>
    NoRoute,

    /// <summary>The client TLS handshake failed (or the route's TLS options could not be built).</summary>
    HandshakeFailed,

    /// <summary>The client did not finish its ClientHello or handshake within <see cref="ProxyOptions.HandshakeTimeout"/>.</summary>
    HandshakeTimeout,

    /// <summary>
    /// A listener whose stack has PROXY got no valid PROXY protocol header: none, malformed, truncated by the client's
    /// close, or longer than the bound. No byte reached an upstream.
    /// </summary>
    ProxyHeaderInvalid,

    /// <summary>A listener whose stack has PROXY got no complete header within <see cref="ProxyOptions.HandshakeTimeout"/>.</summary>
    ProxyHeaderTimeout,

    /// <summary>A listener whose stack has PROXY was reached from a peer outside <see cref="ProxyOptions.ProxyProtocolTrustedNetworks"/>.</summary>
    ProxyPeerUntrusted,

    /// <summary>
    /// The client a PROXY protocol header named already had <see cref="ProxyOptions.MaxConnectionsPerSource"/> connections
    /// open (also counted in <c>ogw.proxy.connection_refusals</c>). No byte reached an upstream.
    /// </summary>
    SourceLimit,

    /// <summary>The TLS handshake with the upstream failed (certificate not trusted, protocol mismatch, ...).</summary>
    UpstreamHandshakeFailed,

    /// <summary>The client closed before a route was chosen.</summary>
    ClientGone,

    /// <summary>Its listener was removed and <see cref="ProxyOptions.DrainTimeout"/> passed.</summary>
    Drained,

    /// <summary>The proxy server was disposed.</summary>
    ServerStopped,

    /// <summary>A bug: an unexpected exception (logged).</summary>
    InternalError,
}
