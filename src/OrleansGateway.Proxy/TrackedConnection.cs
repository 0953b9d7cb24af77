using Microsoft.Extensions.Logging;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy;

/// <summary>
/// What every client connection records and releases, whichever engine relays it (<see cref="ProxyConnection"/> on
/// the runtime's sockets, <see cref="Native.NativeConnection"/> on the native engine): the tenant limit and circuit
/// breaker admissions, the close reason (the first one recorded wins), and the end — slots released, access log,
/// metrics, the listener told.
/// </summary>
internal abstract class TrackedConnection
{
    private const int NoReason = -1;

    private readonly long _started;
    private UInt128 _source;
    private BoundedCounter? _sourceCounter;
    private int _handshakeHeld;
    private TenantSlot? _tenantSlot;
    private bool _tenantAdmitted;
    private bool _breakerAdmitted;
    private int _reason = NoReason;

    /// <param name="source">The client address's key, and <paramref name="admission"/> what the connection limits gave
    /// it at accept (<see cref="ConnectionLimits.TryAdmit"/>); both are given back at its end.</param>
    protected TrackedConnection(ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime, UInt128 source, Admission admission)
    {
        Listener = listener;
        Snapshot = snapshot;
        Runtime = runtime;
        _source = source;
        _sourceCounter = admission.Source;
        _handshakeHeld = admission.Handshake ? 1 : 0;
        _started = runtime.Time.GetTimestamp();
    }

    public ProxyListener Listener { get; }

    protected ListenerSnapshot Snapshot { get; }

    protected ProxyRuntime Runtime { get; }

    /// <summary>The ClientHello, when one was read (the access log names its SNI).</summary>
    protected ClientHelloInfo? Hello { get; set; }

    /// <summary>The picked canary member, once admitted by its circuit breaker.</summary>
    protected UpstreamEntry? Upstream { get; private set; }

    /// <summary>The upstream address connected to, for the access log.</summary>
    protected System.Net.IPEndPoint? UpstreamEndPoint { get; set; }

    /// <summary>The client's address for logs; "-" when unknown.</summary>
    protected abstract string ClientText { get; }

    /// <summary>Counts the connection as open (first thing it does).</summary>
    protected void Opened()
    {
        Runtime.Metrics.Active.Add(1, Snapshot.Tags);
        Runtime.Metrics.Connections.Add(1, Snapshot.Tags);
    }

    /// <summary>
    /// The decision's route once its tenant's concurrent-connection limit admits the connection: checked before any
    /// TLS termination or upstream connect, so a refused connection costs no handshake. Null: closed (reason set).
    /// </summary>
    protected RouteEntry? Admit(in RouteDecision decision)
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

        if (route.Terminates)
        {
            // The tenant's slot is taken once the client's handshake is done (AdmitTenant): a client that stalls its
            // handshake with this tenant's SNI holds none of its slots, only a place in the pre-handshake budget. A
            // tenant that is full already is refused now, before the handshake costs anything.
            if (Runtime.Tenants.HasRoom(Snapshot, route, out _tenantSlot))
            {
                return route;
            }

            TenantFull();
            return null;
        }

        return AdmitTenant(route) ? route : null;
    }

    /// <summary>Takes a slot of <paramref name="route"/>'s tenant; false when it is at its limit (the connection ends, reason set).</summary>
    protected bool AdmitTenant(RouteEntry route)
    {
        _tenantAdmitted = Runtime.Tenants.TryAdmit(Snapshot, route, out _tenantSlot);
        if (!_tenantAdmitted)
        {
            TenantFull();
        }

        return _tenantAdmitted;
    }

    private void TenantFull() => Fail(CloseReason.TenantQuota, $"tenant '{_tenantSlot!.Tenant}' is at its concurrent-connection limit");

    /// <summary>
    /// A PROXY protocol header named the client (<paramref name="client"/>): from here on it is the connection's source,
    /// and it takes its place in <see cref="ProxyOptions.MaxConnectionsPerSource"/> (docs/data-plane.md, "PROXY
    /// protocol"). False: that source is at its limit (the connection ends, reason set).
    /// </summary>
    protected bool AdmitSource(System.Net.EndPoint? client)
    {
        var source = ConnectionLimits.SourceKey(client);
        if (Runtime.Limits.TryAdmitSource(Snapshot, source) is not { } counter)
        {
            Fail(CloseReason.SourceLimit, $"its source address is at --max-connections-per-source ({Runtime.Options.MaxConnectionsPerSource})");
            return false;
        }

        _source = source;
        _sourceCounter = counter;
        return true;
    }

    /// <summary>The route and client handshake are done (or the connection ends): its place in the pre-handshake budget is free.</summary>
    protected void HandshakeOver()
    {
        if (Interlocked.Exchange(ref _handshakeHeld, 0) == 1)
        {
            Runtime.Limits.HandshakeDone();
        }
    }

    /// <summary>
    /// The canary pick of <paramref name="route"/>, admitted by its circuit breaker (a connection slot and a pending
    /// slot, the latter given back with <see cref="ConnectDone"/>); null when the connection ends here (reason set).
    /// </summary>
    protected UpstreamEntry? PickUpstream(RouteEntry route)
    {
        var upstream = route.Pick(Runtime.Random);
        if (upstream is null)
        {
            NoRoute($"{route.Plan.Name} has no upstream with a share above 0");
            return null;
        }

        Upstream = upstream;
        if (upstream.Plan.Origination is not null && upstream.ClientTls is null)
        {
            Runtime.Metrics.HandshakeFailures.Add(1, ProxyMetrics.With(upstream.Tags, "side", "upstream"));
            Fail(CloseReason.UpstreamHandshakeFailed, upstream.TlsError ?? "no TLS origination options");
            return null;
        }

        if (!upstream.Counters.TryAdmit(upstream.Plan.CircuitBreakers))
        {
            Runtime.Metrics.BreakerOverflows.Add(1, upstream.Tags);
            Fail(CloseReason.CircuitOpen, $"cluster {upstream.Plan.ClusterKey} is at its limit ({upstream.Plan.CircuitBreakers})");
            return null;
        }

        _breakerAdmitted = true;
        return upstream;
    }

    /// <summary>The dial is over (connected or failed): the pending slot of the circuit breaker is free again.</summary>
    protected void ConnectDone() => Upstream!.Counters.ConnectDone();

    /// <summary>The dial connected to <paramref name="endPoint"/>: the member's failure streak ends (<see cref="OutlierDetection"/>).</summary>
    protected void UpstreamConnected(System.Net.IPEndPoint endPoint)
    {
        UpstreamEndPoint = endPoint;
        Upstream!.Health?.Connected();
    }

    /// <summary>
    /// No upstream address could be connected: one more failure in the member's streak, unless the gateway's own
    /// egress rules refused the address (that says nothing about the member's health).
    /// </summary>
    protected void ConnectFailed(CloseReason failure, string? detail)
    {
        if (failure != CloseReason.UpstreamForbidden)
        {
            Upstream!.Health?.ConnectFailed(failure, detail);
        }

        Runtime.Metrics.ConnectFailures.Add(1, ProxyMetrics.With(Upstream!.Tags, "reason", failure.ToString()));
        Fail(failure, detail ?? "no address could be connected");
    }

    protected bool SetReason(CloseReason reason) => Interlocked.CompareExchange(ref _reason, (int)reason, NoReason) == NoReason;

    protected void Fail(CloseReason reason, string detail)
    {
        SetReason(reason);
        ProxyLog.ConnectionProblem(Runtime.Log, ClientText, Snapshot.Plan.Endpoint.ToString(), reason, detail);
    }

    protected void NoRoute(string detail)
    {
        Runtime.Metrics.NoRoute.Add(1, Snapshot.Tags);
        Fail(CloseReason.NoRoute, detail);
    }

    protected void HandshakeProblem(CloseReason reason, string detail)
    {
        Runtime.Metrics.HandshakeFailures.Add(1, ProxyMetrics.With(Snapshot.Tags, "side", "client"));
        Fail(reason, detail);
    }

    /// <summary>
    /// The end, once the sockets are closed: the slots are given back, the access log line and the metrics are
    /// written with the first reason recorded (else <paramref name="ended"/>: whose EOF came first), and the listener
    /// counts one connection less.
    /// </summary>
    protected void Closed(CloseReason? ended, long bytesUp, long bytesDown)
    {
        var reason = Volatile.Read(ref _reason) is var r and not NoReason ? (CloseReason)r : ended ?? CloseReason.ClientClosed;
        if (_breakerAdmitted)
        {
            Upstream!.Counters.Release();
        }

        if (_tenantAdmitted)
        {
            _tenantSlot?.Release();
        }

        HandshakeOver();
        Runtime.Limits.Release(Listener, _source, _sourceCounter, handshakeHeld: false);

        var metrics = Runtime.Metrics;
        var tags = Upstream?.Tags ?? Snapshot.Tags;
        metrics.Active.Add(-1, Snapshot.Tags);
        metrics.Closed.Add(1, ProxyMetrics.With(tags, "reason", reason.ToString()));
        var elapsed = Runtime.Time.GetElapsedTime(_started);
        metrics.Duration.Record(elapsed.TotalSeconds, tags);
        if (Runtime.AccessLog.IsEnabled(LogLevel.Information))
        {
            // Every text field through LogText.Field: names are the tenants' and the SNI the client's, and none may
            // add a field or a line (docs/data-plane.md, "What tenants and clients put in logs").
            ProxyLog.Access(Runtime.AccessLog, LogText.Field(Snapshot.Plan.Name), LogText.Field(Upstream?.MappingLabel),
                LogText.Field(Upstream?.Plan.Tenant ?? _tenantSlot?.Tenant), ClientText, LogText.Field(Hello?.ServerName),
                UpstreamEndPoint?.ToString() ?? "-", bytesUp, bytesDown, (long)elapsed.TotalMilliseconds, reason);
        }

        Listener.ConnectionClosed();
    }
}
