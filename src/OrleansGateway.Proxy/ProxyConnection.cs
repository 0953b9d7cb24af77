using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy;

/// <summary>
/// One client connection from accept to close, in order: route (<see cref="ClientHelloInspection"/>), tenant limit,
/// TLS termination, canary pick, circuit breaker, dial, TLS origination, <see cref="Relay"/>, then the close reason,
/// access log and metrics. It keeps the snapshot it was accepted with, and is the one place that ends the connection
/// (<see cref="Abort"/>) and releases what it holds.
/// </summary>
internal sealed class ProxyConnection : IThreadPoolWorkItem
{
    /// <summary>Bytes a pump relays before it adds them to the <c>ogw.proxy.bytes</c> counter (and at its end).</summary>
    internal const int BytesReportBatch = 1 << 20;

    /// <summary>Pending bytes older than this are added before a pump waits for more data.</summary>
    internal static readonly TimeSpan BytesReportInterval = TimeSpan.FromSeconds(1);

    private const int NoReason = -1;

    private readonly Socket _client;
    private readonly ProxyListener _listener;
    private readonly ListenerSnapshot _snapshot;
    private readonly ProxyRuntime _runtime;
    private readonly long _started;

    // What the access log reports, filled in as the connection gets there.
    private EndPoint? _clientEndPoint;
    private ClientHelloInfo? _hello;
    private UpstreamEntry? _upstream;
    private IPEndPoint? _upstreamEndPoint;
    private Relay? _relay;

    // What the end releases. The upstream side is published with a full fence (Abort may run during the dial).
    private ConnectionSide? _clientSide;
    private ConnectionSide? _upstreamSide;
    private TenantSlot? _tenantSlot;
    private bool _tenantAdmitted;
    private bool _breakerAdmitted;

    // How it ends: the first reason recorded wins.
    private int _reason = NoReason;
    private int _aborted;

    public ProxyConnection(Socket client, ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime)
    {
        _client = client;
        _listener = listener;
        _snapshot = snapshot;
        _runtime = runtime;
        _started = runtime.Time.GetTimestamp();
    }

    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    private string ClientText => _clientEndPoint?.ToString() ?? "-";

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
                ProxyLog.ConnectionCrashed(_runtime.Log, e, ClientText, _snapshot.Plan.Endpoint.ToString());
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
        if (route is null)
        {
            return null;
        }

        var upstream = route.Pick(_runtime.Random);
        if (upstream is null)
        {
            NoRoute($"{route.Plan.Name} has no upstream with a share above 0");
            return null;
        }

        _upstream = upstream;
        return await ConnectUpstreamAsync(upstream).ConfigureAwait(false)
            ? new Relay(this, _clientSide!, _upstreamSide!, upstream, _runtime, alreadyRead)
            : null;
    }

    /// <summary>
    /// The route for this client, with the client side ready: TLS terminated when the route says so, else the raw
    /// socket and the bytes already read (the upstream gets them first). Null route: close (the reason is set).
    /// </summary>
    // ValueTask: a cleartext listener decides synchronously, and then nothing is allocated for the result.
    private async ValueTask<(RouteEntry? Route, byte[]? AlreadyRead)> AcceptClientAsync()
    {
        if (!_snapshot.Plan.TlsInspected)
        {
            return Admit(ClientHelloInspection.Cleartext(_snapshot)) is { } route ? Raw(route, null) : default;
        }

        // One deadline for the client side of TLS: the ClientHello peek and the handshake. Scoped to this method
        // so that its timer is gone once the handshake is over (cleartext listeners never arm one).
        using var handshakeCts = new CancellationTokenSource(_runtime.Options.HandshakeTimeout, _runtime.Time);
        var decision = await ClientHelloInspection.InspectAsync(_client, _snapshot, _runtime, handshakeCts.Token).ConfigureAwait(false);
        _hello = decision.Hello;
        if (Admit(decision) is not { } chosen)
        {
            return default;
        }

        if (!chosen.Terminates)
        {
            return Raw(chosen, decision.AlreadyRead);
        }

        // The handshake consumes the bytes already read.
        return await TerminateAsync(chosen, decision.AlreadyRead!, handshakeCts.Token).ConfigureAwait(false) ? (chosen, null) : default;
    }

    private (RouteEntry, byte[]?) Raw(RouteEntry route, byte[]? alreadyRead)
    {
        _clientSide = new SocketSide(_client);
        return (route, alreadyRead);
    }

    /// <summary>
    /// The decision's route once its tenant's concurrent-connection limit admits the connection: checked before any
    /// TLS termination or upstream connect, so a refused connection costs no handshake. Null: closed (reason set).
    /// </summary>
    private RouteEntry? Admit(in RouteDecision decision)
    {
        if (decision.Route is not { } route)
        {
            switch (decision.Refusal)
            {
                case CloseReason.NoRoute:
                    NoRoute(decision.Detail!);
                    break;
                case CloseReason.HandshakeTimeout:
                    HandshakeProblem(decision.Refusal, decision.Detail!);
                    break;
                default:
                    Fail(decision.Refusal, decision.Detail!);
                    break;
            }

            return null;
        }

        _tenantAdmitted = _runtime.Tenants.TryAdmit(_snapshot, route, out _tenantSlot);
        if (!_tenantAdmitted)
        {
            Fail(CloseReason.TenantQuota, $"tenant '{_tenantSlot!.Tenant}' is at its concurrent-connection limit");
            return null;
        }

        return route;
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
            // Handshakes are CPU work: keep them off the socket event-loop thread.
            // ALPN without overlap carries on without ALPN (as Envoy does) instead of failing the handshake.
            var options = _hello is null ? route.ServerTls : TlsOptionsFactory.ForClientHello(route.ServerTls, _hello);
            await Task.Run(() => side.Stream.AuthenticateAsServerAsync(options, handshakeToken), handshakeToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (handshakeToken.IsCancellationRequested)
        {
            HandshakeProblem(CloseReason.HandshakeTimeout, $"TLS handshake not done within {_runtime.Options.HandshakeTimeout}");
        }
        catch (Exception e) when (!IsAborted)
        {
            HandshakeProblem(CloseReason.HandshakeFailed, e.Message);
        }

        return false;
    }

    /// <summary>Circuit breaker, dial (<see cref="UpstreamConnector"/>) and TLS origination; false when the connection ends here (reason set).</summary>
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

        _breakerAdmitted = true;
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
        ConnectionSide side = upstream.ClientTls is null ? new SocketSide(socket) : TlsSide.Originating(socket);

        // Published with a full fence so that Abort (which sets _aborted, then reads the side) and this code (which
        // writes the side, then reads _aborted) cannot both miss each other.
        Interlocked.Exchange(ref _upstreamSide, side);
        if (IsAborted)
        {
            socket.Dispose();
            return false;
        }

        return side is not TlsSide tls || await OriginateAsync(tls, upstream).ConfigureAwait(false);
    }

    private async Task<bool> OriginateAsync(TlsSide side, UpstreamEntry upstream)
    {
        using var handshakeCts = new CancellationTokenSource(_runtime.Options.HandshakeTimeout, _runtime.Time);
        try
        {
            await Task.Run(() => side.Stream.AuthenticateAsClientAsync(upstream.ClientTls!, handshakeCts.Token), handshakeCts.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (!IsAborted)
        {
            _runtime.Metrics.HandshakeFailures.Add(1, ProxyMetrics.With(upstream.Tags, "side", "upstream"));
            Fail(CloseReason.UpstreamHandshakeFailed, handshakeCts.IsCancellationRequested ? "upstream TLS handshake timed out" : e.Message);
            return false;
        }
    }

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
        _relay?.Stop();
        var reason = Volatile.Read(ref _reason) is var r and not NoReason ? (CloseReason)r : _relay?.FirstEnded ?? CloseReason.ClientClosed;
        CloseSockets();
        if (_breakerAdmitted)
        {
            _upstream!.Counters.Release();
        }

        if (_tenantAdmitted)
        {
            _tenantSlot?.Release();
        }

        Report(reason);
        _listener.ConnectionClosed();
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

    private void Report(CloseReason reason)
    {
        var metrics = _runtime.Metrics;
        var tags = _upstream?.Tags ?? _snapshot.Tags;
        metrics.Active.Add(-1, _snapshot.Tags);
        metrics.Closed.Add(1, ProxyMetrics.With(tags, "reason", reason.ToString()));
        var elapsed = _runtime.Time.GetElapsedTime(_started);
        metrics.Duration.Record(elapsed.TotalSeconds, tags);
        if (_runtime.AccessLog.IsEnabled(LogLevel.Information))
        {
            // Every text field through LogText.Field: names are the tenants' and the SNI the client's, and none may
            // add a field or a line (docs/data-plane.md, "What tenants and clients put in logs").
            ProxyLog.Access(_runtime.AccessLog, LogText.Field(_snapshot.Plan.Name), LogText.Field(_upstream?.MappingLabel),
                LogText.Field(_upstream?.Plan.Tenant ?? _tenantSlot?.Tenant), ClientText, LogText.Field(_hello?.ServerName),
                _upstreamEndPoint?.ToString() ?? "-", _relay?.BytesUp ?? 0, _relay?.BytesDown ?? 0, (long)elapsed.TotalMilliseconds, reason);
        }
    }
}
