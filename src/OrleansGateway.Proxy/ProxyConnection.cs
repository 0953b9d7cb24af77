using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy;

/// <summary>
/// One client connection, from accept to close: route choice (ClientHello peek when the listener inspects TLS),
/// optional TLS termination, canary pick, circuit breaker, upstream dial and optional TLS origination, then two
/// copy loops with half-close and an idle timer. It keeps the snapshot it was accepted with.
/// </summary>
internal sealed class ProxyConnection : IThreadPoolWorkItem
{
    /// <summary>TLS alert record: fatal (2), unrecognized_name (112). Tells a TLS client why, without a certificate.</summary>
    private static readonly byte[] UnrecognizedNameAlert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70];

    private const int NoReason = -1;

    private readonly Socket _client;
    private readonly ProxyListener _listener;
    private readonly ListenerSnapshot _snapshot;
    private readonly ProxyRuntime _runtime;
    private readonly long _started;

    private EndPoint? _clientEndPoint;
    private ConnectionSide? _clientSide;
    private ConnectionSide? _upstreamSide;
    private Socket? _upstreamSocket;
    private UpstreamEntry? _upstream;
    private IPEndPoint? _upstreamEndPoint;
    private bool _admitted;
    private TenantSlot? _tenantSlot;
    private bool _tenantAdmitted;
    private string? _sni;
    private ClientHelloInfo? _hello;
    private int _reason = NoReason;
    private int _aborted;
    private int _firstEof = NoReason;
    private int _halfClosed;
    private long _lastActivity;
    private long _bytesUp;
    private long _bytesDown;
    private TimeSpan _idleTimeout;
    private ITimer? _idleTimer;

    public ProxyConnection(Socket client, ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime)
    {
        _client = client;
        _listener = listener;
        _snapshot = snapshot;
        _runtime = runtime;
        _started = runtime.Time.GetTimestamp();
    }

    public void Execute() => _ = RunAsync();

    private async Task RunAsync()
    {
        var metrics = _runtime.Metrics;
        metrics.Active.Add(1, _snapshot.Tags);
        metrics.Connections.Add(1, _snapshot.Tags);
        CancellationTokenRegistration abortRegistration = default;
        try
        {
            abortRegistration = _listener.AbortToken.UnsafeRegister(
                static s => ((ProxyConnection)s!).Abort(((ProxyConnection)s!)._listener.AbortReason, resetClient: false, resetUpstream: false), this);
            _clientEndPoint = _client.RemoteEndPoint;
            if (!TrySetNoDelay(_client))
            {
                Fail(CloseReason.ClientGone, "gone before it was served");
                return;
            }

            await ProxyAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (Volatile.Read(ref _aborted) == 0)
            {
                SetReason(CloseReason.InternalError);
                ProxyLog.ConnectionCrashed(_runtime.Log, e, ClientText, _snapshot.Plan.Endpoint.ToString());
            }
        }
        finally
        {
            await abortRegistration.DisposeAsync().ConfigureAwait(false);
            Finish();
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

    private string ClientText => _clientEndPoint?.ToString() ?? "-";

    private async Task ProxyAsync()
    {
        var (route, prefix) = await ChooseRouteAsync().ConfigureAwait(false);
        if (route is null)
        {
            return;
        }

        var upstream = route.Pick(_runtime.Random);
        if (upstream is null)
        {
            NoRoute($"{route.Plan.Name} has no upstream with a share above 0");
            return;
        }

        _upstream = upstream;
        if (!await ConnectUpstreamAsync(upstream).ConfigureAwait(false))
        {
            return;
        }

        if (prefix is not null)
        {
            // Raw passthrough after a peek: the upstream must see the client's bytes from the first one.
            try
            {
                await _upstreamSide!.SendAsync(prefix).ConfigureAwait(false);
            }
            catch (Exception) when (Volatile.Read(ref _aborted) == 0)
            {
                Abort(CloseReason.UpstreamReset, resetClient: true, resetUpstream: false);
                return;
            }

            _bytesUp += prefix.Length;
            _runtime.Metrics.Bytes.Add(prefix.Length, upstream.BytesUpTags);
        }

        StartIdleTimer(upstream.Plan.IdleTimeout);
        var toUpstream = PumpAsync(_clientSide!, _upstreamSide!, fromClient: true);
        var toClient = PumpAsync(_upstreamSide!, _clientSide!, fromClient: false);
        await toUpstream.ConfigureAwait(false);
        await toClient.ConfigureAwait(false);
    }

    /// <summary>
    /// The route for this client, with the client side ready: TLS terminated when the route says so, else the raw
    /// socket plus the bytes already read (to replay to the upstream). Null route: close (the reason is set).
    /// </summary>
    // ValueTask: a cleartext listener chooses synchronously, and then nothing is allocated for the result.
    private async ValueTask<(RouteEntry? Route, byte[]? Prefix)> ChooseRouteAsync()
    {
        if (!_snapshot.Plan.TlsInspected)
        {
            if (_snapshot.CatchAll is null)
            {
                NoRoute("the listener has no route");
                return (null, null);
            }

            if (!AdmitTenant(_snapshot.CatchAll))
            {
                return (null, null);
            }

            _clientSide = new SocketSide(_client);
            return (_snapshot.CatchAll, null);
        }

        // One deadline for the client side of TLS: the ClientHello peek and the handshake. Scoped to this method
        // so that its timer is gone once the handshake is over (cleartext listeners never arm one).
        using var handshakeCts = new CancellationTokenSource(_runtime.Options.HandshakeTimeout, _runtime.Time);
        var (route, prefix) = await InspectAsync(handshakeCts.Token).ConfigureAwait(false);
        if (route is null || !AdmitTenant(route))
        {
            return (null, null);
        }

        if (!route.Terminates)
        {
            _clientSide = new SocketSide(_client);
            return (route, prefix);
        }

        // The handshake consumes the replayed bytes.
        return await TerminateAsync(route, prefix!, handshakeCts.Token).ConfigureAwait(false) ? (route, null) : (null, null);
    }

    /// <summary>
    /// Reads the ClientHello (keeping the bytes to replay) and picks the route by SNI. Null route: the connection
    /// is to be closed (the reason is set).
    /// </summary>
    private async Task<(RouteEntry? Route, byte[]? Prefix)> InspectAsync(CancellationToken handshakeToken)
    {
        var catchAll = _snapshot.CatchAll;
        if (catchAll is not null && !await ClientSpeaksFirstAsync().ConfigureAwait(false))
        {
            return (Volatile.Read(ref _reason) == NoReason ? catchAll : null, null);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ClientHelloParser.MaxBytes);
        try
        {
            var filled = 0;
            while (true)
            {
                int read;
                try
                {
                    read = await _client.ReceiveAsync(buffer.AsMemory(filled, ClientHelloParser.MaxBytes - filled), SocketFlags.None, handshakeToken)
                        .ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (handshakeToken.IsCancellationRequested)
                {
                    HandshakeProblem(CloseReason.HandshakeTimeout, $"no complete ClientHello within {_runtime.Options.HandshakeTimeout} ({filled} bytes received)");
                    return (null, null);
                }
                catch (SocketException e)
                {
                    Fail(CloseReason.ClientReset, $"while reading the ClientHello: {e.SocketErrorCode}");
                    return (null, null);
                }

                if (read == 0)
                {
                    Fail(CloseReason.ClientGone, $"closed after {filled} bytes, before a complete ClientHello");
                    return (null, null);
                }

                filled += read;
                var status = ClientHelloParser.TryParse(buffer.AsSpan(0, filled), out var hello);
                if (status == ClientHelloStatus.NeedMoreData && filled < ClientHelloParser.MaxBytes)
                {
                    continue;
                }

                var prefix = buffer.AsSpan(0, filled).ToArray();
                if (status == ClientHelloStatus.Found)
                {
                    _hello = hello;
                    _sni = hello!.ServerName;
                    var route = _snapshot.Router.Find(_sni) ?? catchAll;
                    if (route is null)
                    {
                        await SendAlertAsync().ConfigureAwait(false);
                        NoRoute(_sni is null ? "ClientHello without SNI and no route for it" : $"no route for SNI '{_sni}'");
                    }

                    return (route, prefix);
                }

                if (catchAll is null)
                {
                    NoRoute(status == ClientHelloStatus.NotTls ? "not TLS on a TLS-only port" : "malformed or oversized ClientHello on a TLS-only port");
                }

                return (catchAll, prefix);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// False when the client stays silent for <see cref="ProxyOptions.ServerFirstPeekTimeout"/> (a server-first
    /// protocol such as SSH or MySQL: it goes to the catch-all) or went away (reason set).
    /// </summary>
    private async Task<bool> ClientSpeaksFirstAsync()
    {
        using var silence = new CancellationTokenSource(_runtime.Options.ServerFirstPeekTimeout, _runtime.Time);
        try
        {
            // Zero-byte receive: waits for data without consuming it.
            await _client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, silence.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException e)
        {
            Fail(CloseReason.ClientReset, $"before sending anything: {e.SocketErrorCode}");
            return false;
        }
    }

    /// <summary>The tenant's concurrent-connection limit, checked once the route is known and before any TLS
    /// termination or upstream connect (a refused connection costs no handshake).</summary>
    private bool AdmitTenant(RouteEntry route)
    {
        _tenantAdmitted = _runtime.Tenants.TryAdmit(_snapshot, route, out _tenantSlot);
        if (!_tenantAdmitted)
        {
            Fail(CloseReason.TenantQuota, $"tenant '{_tenantSlot!.Tenant}' is at its concurrent-connection limit");
        }

        return _tenantAdmitted;
    }

    private async Task<bool> TerminateAsync(RouteEntry route, byte[] prefix, CancellationToken handshakeToken)
    {
        if (route.ServerTls is null)
        {
            HandshakeProblem(CloseReason.HandshakeFailed, route.TlsError ?? "no TLS options");
            return false;
        }

        var ssl = new SslStream(new ReplayStream(prefix, new NetworkStream(_client, ownsSocket: false)), leaveInnerStreamOpen: false);
        _clientSide = new TlsSide(_client, ssl);
        try
        {
            // Handshakes are CPU work: keep them off the socket event-loop thread.
            // ALPN without overlap carries on without ALPN (as Envoy does) instead of failing the handshake.
            var options = _hello is null ? route.ServerTls : TlsOptionsFactory.ForClientHello(route.ServerTls, _hello);
            await Task.Run(() => ssl.AuthenticateAsServerAsync(options, handshakeToken), handshakeToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (handshakeToken.IsCancellationRequested)
        {
            HandshakeProblem(CloseReason.HandshakeTimeout, $"TLS handshake not done within {_runtime.Options.HandshakeTimeout}");
        }
        catch (Exception e) when (Volatile.Read(ref _aborted) == 0)
        {
            HandshakeProblem(CloseReason.HandshakeFailed, e.Message);
        }

        return false;
    }

    private async Task<bool> ConnectUpstreamAsync(UpstreamEntry upstream)
    {
        var metrics = _runtime.Metrics;
        if (upstream.Plan.Origination is not null && upstream.ClientTls is null)
        {
            metrics.HandshakeFailures.Add(1, ProxyMetrics.With(upstream.Tags, "side", "upstream"));
            Fail(CloseReason.UpstreamHandshakeFailed, upstream.TlsError ?? "no TLS origination options");
            return false;
        }

        if (!upstream.Counters.TryAdmit(upstream.Plan.CircuitBreakers))
        {
            metrics.BreakerOverflows.Add(1, upstream.Tags);
            Fail(CloseReason.CircuitOpen, $"cluster {upstream.Plan.ClusterKey} is at its limit ({upstream.Plan.CircuitBreakers})");
            return false;
        }

        _admitted = true;
        ConnectResult connected;
        try
        {
            connected = await UpstreamConnector.ConnectAsync(upstream.Plan, upstream.LiteralAddresses, _runtime).ConfigureAwait(false);
        }
        finally
        {
            upstream.Counters.ConnectDone();
        }

        if (connected.Socket is not { } socket)
        {
            metrics.ConnectFailures.Add(1, ProxyMetrics.With(upstream.Tags, "reason", connected.Failure.ToString()));
            Fail(connected.Failure, connected.Detail ?? "no address could be connected");
            return false;
        }

        _upstreamEndPoint = connected.EndPoint;

        // Publish with a full fence so that Abort (which sets _aborted, then reads the socket) and this code
        // (which writes the socket, then reads _aborted) cannot both miss each other.
        Interlocked.Exchange(ref _upstreamSocket, socket);
        if (Volatile.Read(ref _aborted) != 0)
        {
            socket.Dispose();
            return false;
        }

        if (upstream.ClientTls is null)
        {
            _upstreamSide = new SocketSide(socket);
            return true;
        }

        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        _upstreamSide = new TlsSide(socket, ssl);
        using var handshakeCts = new CancellationTokenSource(_runtime.Options.HandshakeTimeout, _runtime.Time);
        try
        {
            await Task.Run(() => ssl.AuthenticateAsClientAsync(upstream.ClientTls, handshakeCts.Token), handshakeCts.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (Volatile.Read(ref _aborted) == 0)
        {
            metrics.HandshakeFailures.Add(1, ProxyMetrics.With(upstream.Tags, "side", "upstream"));
            Fail(CloseReason.UpstreamHandshakeFailed, handshakeCts.IsCancellationRequested ? "upstream TLS handshake timed out" : e.Message);
            return false;
        }
    }

    /// <summary>Bytes a copy loop relays before it adds them to the <c>ogw.proxy.bytes</c> counter (and at its end).</summary>
    internal const int BytesReportBatch = 1 << 20;

    /// <summary>Pending bytes older than this are added before the copy loop waits for more data.</summary>
    internal static readonly TimeSpan BytesReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One direction. Waits for data with a zero-byte receive holding no buffer, rents one only when data is
    /// ready, and gives it back whenever a receive did not fill it, so an idle connection holds no buffer. The byte
    /// counter is fed in batches instead of per receive (a metric update per message was a measurable share of
    /// the copy loop's CPU): when <see cref="BytesReportBatch"/> bytes are pending, before a wait for more data
    /// when the last addition is older than <see cref="BytesReportInterval"/>, and when the direction ends.
    /// </summary>
    private async Task PumpAsync(ConnectionSide from, ConnectionSide to, bool fromClient)
    {
        var pool = ArrayPool<byte>.Shared;
        var time = _runtime.Time;
        var upstream = _upstream!;
        var tags = fromClient ? upstream.BytesUpTags : upstream.BytesDownTags;
        long unreported = 0;
        var reportedAt = time.GetTimestamp();
        var sentAt = reportedAt; // the clock read that stamps each relayed message, reused for the batching
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    if (buffer is null)
                    {
                        if (unreported > 0 && time.GetElapsedTime(reportedAt, sentAt) >= BytesReportInterval)
                        {
                            Report();
                        }

                        await from.WaitReadableAsync().ConfigureAwait(false);
                        buffer = pool.Rent(_runtime.Options.BufferSize);
                    }

                    read = await from.ReceiveAsync(buffer).ConfigureAwait(false);
                }
                catch (Exception) when (Volatile.Read(ref _aborted) != 0)
                {
                    return;
                }
                catch (Exception)
                {
                    // The source reset (or broke): pass the reset on to the other side.
                    if (fromClient)
                    {
                        Abort(CloseReason.ClientReset, resetClient: false, resetUpstream: true);
                    }
                    else
                    {
                        Abort(CloseReason.UpstreamReset, resetClient: true, resetUpstream: false);
                    }

                    return;
                }

                if (read == ConnectionSide.NothingReady)
                {
                    // Woken without data after all: wait again without holding the buffer.
                    pool.Return(buffer);
                    buffer = null;
                    continue;
                }

                if (read == 0)
                {
                    await EndOfStreamAsync(to, fromClient).ConfigureAwait(false);
                    return;
                }

                Volatile.Write(ref _lastActivity, time.GetTimestamp());
                try
                {
                    await to.SendAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                }
                catch (Exception) when (Volatile.Read(ref _aborted) != 0)
                {
                    return;
                }
                catch (Exception)
                {
                    // The destination is gone: reset the source so it stops sending into the void.
                    if (fromClient)
                    {
                        Abort(CloseReason.UpstreamReset, resetClient: true, resetUpstream: false);
                    }
                    else
                    {
                        Abort(CloseReason.ClientReset, resetClient: false, resetUpstream: true);
                    }

                    return;
                }

                sentAt = time.GetTimestamp();
                Volatile.Write(ref _lastActivity, sentAt);
                if (fromClient)
                {
                    _bytesUp += read;
                }
                else
                {
                    _bytesDown += read;
                }

                unreported += read;
                if (unreported >= BytesReportBatch)
                {
                    Report();
                }

                if (read < buffer.Length)
                {
                    pool.Return(buffer);
                    buffer = null;
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }

            if (unreported > 0)
            {
                Report();
            }
        }

        void Report()
        {
            _runtime.Metrics.Bytes.Add(unreported, tags);
            unreported = 0;
            reportedAt = sentAt;
        }
    }

    /// <summary>
    /// EOF from one side becomes a half-close towards the other; the opposite direction keeps flowing. The second
    /// EOF of a cleartext connection sends no shutdown: the connection closes right after, and closing a socket
    /// whose input was read to EOF sends the same FIN (one system call less per connection).
    /// </summary>
    private async Task EndOfStreamAsync(ConnectionSide to, bool fromClient)
    {
        var first = Interlocked.CompareExchange(ref _firstEof, fromClient ? (int)CloseReason.ClientClosed : (int)CloseReason.UpstreamClosed, NoReason) == NoReason;
        if (!first && to is SocketSide && Volatile.Read(ref _halfClosed) == 1)
        {
            // Safe because Finish runs only after both copy loops ended: no receive is pending on either socket
            // when it closes them (a pending one would make the close abortive, an RST instead of the FIN).
            Interlocked.Increment(ref _halfClosed);
            return;
        }

        try
        {
            await to.ShutdownSendAsync().ConfigureAwait(false);
            Interlocked.Increment(ref _halfClosed);
        }
        catch (Exception)
        {
            // The other side is already gone; its own copy loop reports how.
        }
    }

    private void StartIdleTimer(TimeSpan? idleTimeout)
    {
        if (idleTimeout is not { } timeout || timeout <= TimeSpan.Zero)
        {
            return;
        }

        _idleTimeout = timeout;
        Volatile.Write(ref _lastActivity, _runtime.Time.GetTimestamp());

        // Created disarmed and armed after the field is set, so the callback always finds the timer to re-arm.
        _idleTimer = _runtime.Time.CreateTimer(static s => ((ProxyConnection)s!).CheckIdle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _idleTimer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// The copy loops only stamp the time of the last byte; this one timer per connection compares and re-arms
    /// for the remaining time, so nothing is reset per read.
    /// </summary>
    private void CheckIdle()
    {
        var idleFor = _runtime.Time.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (idleFor >= _idleTimeout)
        {
            _runtime.Metrics.IdleTimeouts.Add(1, _upstream!.Tags);
            Abort(CloseReason.IdleTimeout, resetClient: false, resetUpstream: false);
            return;
        }

        try
        {
            _idleTimer?.Change(_idleTimeout - idleFor, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The connection closed meanwhile.
        }
    }

    private async Task SendAlertAsync()
    {
        try
        {
            await _client.SendAsync(UnrecognizedNameAlert, SocketFlags.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client left already; the alert is a courtesy.
        }
    }

    /// <summary>Ends the connection now; the first reason recorded wins. Sockets are closed so that pending copy loops end.</summary>
    private void Abort(CloseReason reason, bool resetClient, bool resetUpstream)
    {
        SetReason(reason);
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        ConnectionSide.Close(_client, resetClient);
        if (Volatile.Read(ref _upstreamSocket) is { } upstream)
        {
            ConnectionSide.Close(upstream, resetUpstream);
        }
    }

    private void SetReason(CloseReason reason) => Interlocked.CompareExchange(ref _reason, (int)reason, NoReason);

    private void Fail(CloseReason reason, string detail)
    {
        SetReason(reason);
        ProxyLog.ConnectionProblem(_runtime.Log, ClientText, _snapshot.Plan.Endpoint.ToString(), reason, detail);
    }

    private void NoRoute(string detail)
    {
        _runtime.Metrics.NoRoute.Add(1, _snapshot.Tags);
        Fail(CloseReason.NoRoute, detail);
    }

    private void HandshakeProblem(CloseReason reason, string detail)
    {
        _runtime.Metrics.HandshakeFailures.Add(1, ProxyMetrics.With(_snapshot.Tags, "side", "client"));
        Fail(reason, detail);
    }

    private void Finish()
    {
        _idleTimer?.Dispose();
        var reason = (CloseReason)(Volatile.Read(ref _reason) is var r and not NoReason ? r
            : Volatile.Read(ref _firstEof) is var eof and not NoReason ? eof : (int)CloseReason.ClientClosed);

        // Graceful unless Abort already closed them (with or without reset). When both directions ended with EOF
        // and both FINs were sent, nothing is pending or unread: the sockets are closed without another shutdown
        // (two system calls per connection that would only fail with ENOTCONN).
        _clientSide?.DisposeStream();
        _upstreamSide?.DisposeStream();
        var bothEnded = Volatile.Read(ref _halfClosed) == 2 && Volatile.Read(ref _aborted) == 0;
        ConnectionSide.Close(_client, reset: false, bothEnded);
        if (Volatile.Read(ref _upstreamSocket) is { } upstreamSocket)
        {
            ConnectionSide.Close(upstreamSocket, reset: false, bothEnded);
        }

        if (_admitted)
        {
            _upstream!.Counters.Release();
        }

        if (_tenantAdmitted)
        {
            _tenantSlot?.Release();
        }

        var metrics = _runtime.Metrics;
        var tags = _upstream?.Tags ?? _snapshot.Tags;
        metrics.Active.Add(-1, _snapshot.Tags);
        metrics.Closed.Add(1, ProxyMetrics.With(tags, "reason", reason.ToString()));
        var elapsed = _runtime.Time.GetElapsedTime(_started);
        metrics.Duration.Record(elapsed.TotalSeconds, tags);
        if (_runtime.AccessLog.IsEnabled(LogLevel.Information))
        {
            ProxyLog.Access(_runtime.AccessLog, _snapshot.Plan.Name, _upstream?.MappingLabel ?? "-", _upstream?.Plan.Tenant ?? _tenantSlot?.Tenant ?? "-",
                ClientText, _sni ?? "-", _upstreamEndPoint?.ToString() ?? "-", _bytesUp, _bytesDown, (long)elapsed.TotalMilliseconds, reason);
        }

        _listener.ConnectionClosed();
    }
}
