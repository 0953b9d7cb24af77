using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy;

/// <summary>
/// One client connection on the runtime's sockets (the managed engine, and TLS connections on the native engine), from
/// accept to close, in order: route (<see cref="ClientHelloInspection"/>), tenant limit, TLS termination, canary pick,
/// circuit breaker, dial, TLS origination, <see cref="Relay"/>, then the close. It keeps the snapshot it was accepted
/// with, and is the one place that ends the connection (<see cref="Abort"/>); what it records and releases is
/// <see cref="TrackedConnection"/>'s.
/// </summary>
internal sealed class ProxyConnection : TrackedConnection, IThreadPoolWorkItem
{
    /// <summary>Bytes a pump relays before it adds them to the <c>ogw.proxy.bytes</c> counter (and at its end).</summary>
    internal const int BytesReportBatch = 1 << 20;

    /// <summary>Pending bytes older than this are added before a pump waits for more data.</summary>
    internal static readonly TimeSpan BytesReportInterval = TimeSpan.FromSeconds(1);

    private readonly SafeSocketHandle? _handedOver;
    private Socket _client;

    // What the access log reports, filled in as the connection gets there.
    private EndPoint? _clientEndPoint;
    private Relay? _relay;

    // What the end releases. The upstream side is published with a full fence (Abort may run during the dial).
    private ConnectionSide? _clientSide;
    private ConnectionSide? _upstreamSide;
    private int _aborted;

    public ProxyConnection(Socket client, ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime, UInt128 source, Admission admission)
        : base(listener, snapshot, runtime, source, admission)
    {
        _client = client;
    }

    /// <summary>
    /// A connection the native engine accepted and hands over because it needs <see cref="System.Net.Security.SslStream"/>
    /// (a TLS-inspecting listener, or an upstream that originates TLS). The socket is built from the fd on the thread
    /// pool, off the engine's loop.
    /// </summary>
    public ProxyConnection(SafeSocketHandle handedOver, ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime, UInt128 source, Admission admission)
        : base(listener, snapshot, runtime, source, admission)
    {
        _handedOver = handedOver;
        _client = null!;
    }

    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    protected override string ClientText => _clientEndPoint?.ToString() ?? "-";

    public void Execute() => _ = RunAsync();

    private async Task RunAsync()
    {
        CancellationTokenRegistration abortRegistration = default;
        try
        {
            Opened();
            if (_handedOver is not null)
            {
                _client = new Socket(_handedOver);
            }

            abortRegistration = Listener.AbortToken.UnsafeRegister(
                static s => ((ProxyConnection)s!).Abort(((ProxyConnection)s!).Listener.AbortReason, resetClient: false, resetUpstream: false), this);
            _clientEndPoint = _client.RemoteEndPoint;
            if (!TrySetNoDelay(_client))
            {
                Fail(CloseReason.ClientGone, "gone before it was served");
                return;
            }

            _relay = await SetUpAsync().ConfigureAwait(false);
            if (_relay is not null)
            {
                await _relay.RunAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            if (!IsAborted)
            {
                SetReason(CloseReason.InternalError);
                ProxyLog.ConnectionCrashed(Runtime.Log, e, ClientText, Snapshot.Plan.Endpoint.ToString());
            }
        }
        finally
        {
            await abortRegistration.DisposeAsync().ConfigureAwait(false);
            Finish();
        }
    }

    /// <summary>Everything before the relay; null when the connection ends here (the reason is set).</summary>
    private async Task<Relay?> SetUpAsync()
    {
        var (route, alreadyRead) = await AcceptClientAsync().ConfigureAwait(false);
        if (route is null || PickUpstream(route) is not { } upstream)
        {
            return null;
        }

        return await ConnectUpstreamAsync(upstream).ConfigureAwait(false)
            ? new Relay(this, _clientSide!, _upstreamSide!, upstream, Runtime, alreadyRead)
            : null;
    }

    /// <summary>
    /// The route for this client, with the client side ready: TLS terminated when the route says so, else the raw
    /// socket and the bytes already read (the upstream gets them first). Null route: close (the reason is set).
    /// </summary>
    // ValueTask: a cleartext listener decides synchronously, and then nothing is allocated for the result.
    private async ValueTask<(RouteEntry? Route, byte[]? AlreadyRead)> AcceptClientAsync()
    {
        if (!Snapshot.Plan.TlsInspected && !Snapshot.Plan.ProxyProtocol)
        {
            return Admit(ClientHelloInspection.Cleartext(Snapshot)) is { } route ? Raw(route, null) : default;
        }

        // One deadline for the client's preamble: the PROXY protocol header, the ClientHello peek and the handshake.
        // Scoped to this method so that its timer is gone once the handshake is over (plain listeners never arm one).
        using var handshakeCts = new CancellationTokenSource(Runtime.Options.HandshakeTimeout, Runtime.Time);
        byte[]? early = null;
        if (Snapshot.Plan.ProxyProtocol)
        {
            var proxy = await ProxyHeaderReader.ReadAsync(_client, _clientEndPoint, Runtime, handshakeCts.Token).ConfigureAwait(false);
            if (proxy.Refusal is { } refusal)
            {
                Fail(refusal, proxy.Detail!);
                return default;
            }

            // From here on the header's source is the client, everywhere: access log, limits, the PROXY header sent on.
            _clientEndPoint = proxy.Header.Source ?? _clientEndPoint;
            if (!AdmitSource(_clientEndPoint))
            {
                return default;
            }

            early = proxy.AlreadyRead;
            if (!Snapshot.Plan.TlsInspected)
            {
                HandshakeOver();
                return Admit(ClientHelloInspection.Cleartext(Snapshot)) is { } route ? Raw(route, early) : default;
            }
        }

        var decision = await ClientHelloInspection.InspectAsync(_client, Snapshot, Runtime, handshakeCts.Token, early).ConfigureAwait(false);
        Hello = decision.Hello;
        if (Admit(decision) is not { } chosen)
        {
            return default;
        }

        if (!chosen.Terminates)
        {
            HandshakeOver();
            return Raw(chosen, decision.AlreadyRead);
        }

        // The handshake consumes the bytes already read. Only then does the connection count for its tenant.
        var terminated = await TerminateAsync(chosen, decision.AlreadyRead!, handshakeCts.Token).ConfigureAwait(false);
        HandshakeOver();
        return terminated && AdmitTenant(chosen) ? (chosen, null) : default;
    }

    private (RouteEntry, byte[]?) Raw(RouteEntry route, byte[]? alreadyRead)
    {
        _clientSide = new SocketSide(_client);
        return (route, alreadyRead);
    }

    private async Task<bool> TerminateAsync(RouteEntry route, byte[] clientHello, CancellationToken handshakeToken)
    {
        if (route.ServerTls is null)
        {
            HandshakeProblem(CloseReason.HandshakeFailed, route.TlsError ?? "no TLS options");
            return false;
        }

        var side = TlsSide.Terminating(_client, clientHello);
        _clientSide = side;
        try
        {
            // ALPN without overlap carries on without ALPN (as Envoy does) instead of failing the handshake.
            var options = Hello is null ? route.ServerTls : TlsOptionsFactory.ForClientHello(route.ServerTls, Hello);
            await (OnThreadPool
                ? side.Stream.AuthenticateAsServerAsync(options, handshakeToken)
                : HandshakeOnPool(side.Stream, options, handshakeToken)).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (handshakeToken.IsCancellationRequested)
        {
            HandshakeProblem(CloseReason.HandshakeTimeout, $"TLS handshake not done within {Runtime.Options.HandshakeTimeout}");
        }
        catch (Exception e) when (!IsAborted)
        {
            HandshakeProblem(CloseReason.HandshakeFailed, e.Message);
        }

        return false;
    }

    /// <summary>Dial (<see cref="UpstreamConnector"/>) and TLS origination of the admitted upstream; false when the connection ends here (reason set).</summary>
    private async Task<bool> ConnectUpstreamAsync(UpstreamEntry upstream)
    {
        ConnectResult connected;
        try
        {
            connected = await UpstreamConnector.ConnectAsync(upstream.Plan, upstream.LiteralAddresses, Runtime).ConfigureAwait(false);
        }
        finally
        {
            ConnectDone();
        }

        if (connected.Socket is not { } socket)
        {
            ConnectFailed(connected.Failure, connected.Detail);
            return false;
        }

        UpstreamConnected(connected.EndPoint!);
        ConnectionSide side = upstream.ClientTls is null ? new SocketSide(socket) : TlsSide.Originating(socket);

        // Published with a full fence so that Abort (which sets _aborted, then reads the side) and this code (which
        // writes the side, then reads _aborted) cannot both miss each other.
        Interlocked.Exchange(ref _upstreamSide, side);
        if (IsAborted)
        {
            socket.Dispose();
            return false;
        }

        if (upstream.Plan.SendProxyProtocol != ProxyProtocolVersion.None && !await SendProxyHeaderAsync(socket, upstream.Plan.SendProxyProtocol).ConfigureAwait(false))
        {
            return false;
        }

        return side is not TlsSide tls || await OriginateAsync(tls, upstream).ConfigureAwait(false);
    }

    /// <summary>
    /// The mapping's PROXY protocol header, before any client byte (and before TLS origination, which runs inside the
    /// TCP stream the header describes): source = the client (the PROXY-in source when there was one), destination =
    /// the listener's address and port as the client reached it.
    /// </summary>
    private async Task<bool> SendProxyHeaderAsync(Socket upstream, ProxyProtocolVersion version)
    {
        try
        {
            if (_clientEndPoint is not IPEndPoint source || _client.LocalEndPoint is not IPEndPoint destination)
            {
                Fail(CloseReason.ClientGone, "the client's address is unknown, so no PROXY protocol header can be sent");
                return false;
            }

            var header = ProxyProtocol.Write(version, source, destination);
            await upstream.SendAsync(header, SocketFlags.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && !IsAborted)
        {
            Fail(CloseReason.UpstreamReset, $"sending the PROXY protocol header: {e.Message}");
            return false;
        }
    }

    private async Task<bool> OriginateAsync(TlsSide side, UpstreamEntry upstream)
    {
        using var handshakeCts = new CancellationTokenSource(Runtime.Options.HandshakeTimeout, Runtime.Time);
        try
        {
            await (OnThreadPool
                ? side.Stream.AuthenticateAsClientAsync(upstream.ClientTls!, handshakeCts.Token)
                : HandshakeOnPool(side.Stream, upstream.ClientTls!, handshakeCts.Token)).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (!IsAborted)
        {
            Runtime.Metrics.HandshakeFailures.Add(1, ProxyMetrics.With(upstream.Tags, "side", "upstream"));
            Fail(CloseReason.UpstreamHandshakeFailed, handshakeCts.IsCancellationRequested ? "upstream TLS handshake timed out" : e.Message);
            return false;
        }
    }

    /// <summary>
    /// Handshakes are CPU work and must not run on a socket event-loop thread (inline completions run continuations
    /// there, e.g. after a ClientHello that had to be waited for). On a thread-pool thread already — the connection's
    /// start, and a ClientHello or connect that completed at once — the handshake runs where it is: no thread hop.
    /// </summary>
    private static bool OnThreadPool => Thread.CurrentThread.IsThreadPoolThread;

    // Separate methods: a lambda capturing the callers' parameters would allocate its closure on every call.
    private static Task HandshakeOnPool(SslStream stream, SslServerAuthenticationOptions options, CancellationToken token)
        => Task.Run(() => stream.AuthenticateAsServerAsync(options, token), token);

    private static Task HandshakeOnPool(SslStream stream, SslClientAuthenticationOptions options, CancellationToken token)
        => Task.Run(() => stream.AuthenticateAsClientAsync(options, token), token);

    /// <summary>
    /// Ends the connection now (idle timeout, drain, reset, server stop); the first reason recorded wins. The sockets
    /// are closed, with an RST where asked, so that pending operations end (their errors are then ignored).
    /// </summary>
    public void Abort(CloseReason reason, bool resetClient, bool resetUpstream)
    {
        SetReason(reason);
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        ConnectionSide.Close(_client, resetClient);
        if (Volatile.Read(ref _upstreamSide) is { } upstream)
        {
            ConnectionSide.Close(upstream.Socket, resetUpstream);
        }
    }

    private static bool TrySetNoDelay(Socket socket)
    {
        try
        {
            socket.NoDelay = true;
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Finish()
    {
        _relay?.Stop();
        CloseSockets();
        Closed(_relay?.FirstEnded, _relay?.BytesUp ?? 0, _relay?.BytesDown ?? 0);
    }

    /// <summary>
    /// Graceful unless Abort already closed them (with or without reset). When both directions ended with EOF and both
    /// FINs were sent, nothing is pending or unread: the sockets are closed without another shutdown (two system calls
    /// per connection that would only fail with ENOTCONN).
    /// </summary>
    private void CloseSockets()
    {
        _clientSide?.DisposeStream();
        _upstreamSide?.DisposeStream();
        var bothEnded = _relay?.BothEnded == true && !IsAborted;
        ConnectionSide.Close(_client, reset: false, bothEnded);
        if (_upstreamSide is { } upstream)
        {
            ConnectionSide.Close(upstream.Socket, reset: false, bothEnded);
        }
    }
}
