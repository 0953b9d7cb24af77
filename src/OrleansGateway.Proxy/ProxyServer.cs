using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Networks;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// The data plane: binds the listeners of a plan and proxies their connections. <see cref="ApplyAsync"/> swaps
/// the plan live: unchanged listeners keep their sockets, new ones are bound, removed ones stop accepting at once
/// and drain; every established connection keeps the snapshot it started with.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    /// <summary>Name of the <see cref="Meter"/> with the data-plane instruments.</summary>
    public const string MeterName = "OrleansGateway.Proxy";

    private readonly ProxyRuntime _runtime;
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly List<ProxyListener> _draining = [];
    private Dictionary<ListenerEndpoint, ProxyListener> _listeners = [];
    private ApplyResult? _lastApply;
    private long _generation;
    private bool _disposed;
    private Native.NativeEngine? _engine;
    private bool _engineChosen;

    /// <param name="resolver">Host name to addresses for upstreams; default: the system DNS.</param>
    /// <param name="meterFactory">Creates the <see cref="MeterName"/> meter; default: a plain <see cref="Meter"/>.</param>
    public ProxyServer(
        ProxyOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        IRandomSource? random = null,
        IUpstreamResolver? resolver = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _runtime = new ProxyRuntime(
            options,
            loggerFactory,
            timeProvider ?? TimeProvider.System,
            random ?? SharedRandomSource.Instance,
            resolver ?? DnsUpstreamResolver.Instance,
            new ProxyMetrics(meterFactory));
    }

    /// <summary>Applies a new plan. Never throws for a bad listener: bind failures come back in the result.</summary>
    public async Task<ApplyResult> ApplyAsync(GatewayPlan plan, ICertificateProvider certificates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(certificates);
        await _applyGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var generation = Interlocked.Increment(ref _generation);
            var results = ImmutableArray.CreateBuilder<ListenerBindResult>(plan.Listeners.Length);
            var next = new Dictionary<ListenerEndpoint, ProxyListener>(plan.Listeners.Length);

            // Bound listeners of this apply by port, so the wildcard check looks at one port's listeners, not all of
            // them: binding thousands of ports stays linear.
            var byPort = new Dictionary<int, List<(ListenerEndpoint Endpoint, ProxyListener Listener)>>();

            // Removed listeners release their ports first: a new listener may need the same port on another
            // address (0.0.0.0:8080 replaced by 127.0.0.1:8080 would otherwise fail with "in use").
            _runtime.Tenants.Apply(plan);
            _runtime.Guard.UsePlan(plan);
            var wanted = plan.Listeners.Select(l => l.Endpoint).ToHashSet();
            var removed = new List<Task>();
            foreach (var (endpoint, old) in _listeners)
            {
                if (!wanted.Contains(endpoint))
                {
                    removed.Add(old.Drain(_runtime.Options.DrainTimeout));
                    TrackDraining(old);
                }
            }

            // The native engine's loops close their sockets; wait until the ports are free.
            await Task.WhenAll(removed).ConfigureAwait(false);

            var unchanged = 0;
            foreach (var listenerPlan in plan.Listeners)
            {
                var endpoint = listenerPlan.Endpoint;
                if (next.ContainsKey(endpoint))
                {
                    results.Add(new ListenerBindResult(endpoint, false,
                        $"{endpoint} appears twice in the plan ({listenerPlan.Name}); only the first listener is served", listenerPlan.Resources));
                    continue;
                }

                if (_listeners.TryGetValue(endpoint, out var existing))
                {
                    // Same socket either way: an established connection keeps the snapshot it was accepted with.
                    // The snapshot is rebuilt only when the listener's plan or certificates changed.
                    var current = existing.Current;
                    if (current.IsCurrentFor(listenerPlan, certificates))
                    {
                        unchanged++;
                    }
                    else
                    {
                        current = Build(listenerPlan, certificates, current);
                        existing.Swap(current);
                    }

                    Add(endpoint, existing);
                    results.Add(new ListenerBindResult(endpoint, true, null, listenerPlan.Resources) { Warnings = current.Warnings });
                    continue;
                }

                var snapshot = Build(listenerPlan, certificates);
                var error = _runtime.Guard.IsReservedListenPort(endpoint.Port)
                    ? $"port {endpoint.Port} is reserved for the gateway itself (a silo, Orleans gateway or management API port of the cluster); use another port"
                    : WildcardConflict(endpoint, byPort);
                var bound = error is null ? ProxyListener.TryBind(snapshot, _runtime, Engine(), out error) : null;
                if (bound is null)
                {
                    ProxyLog.BindFailed(_runtime.Log, listenerPlan.Name, endpoint.ToString(), error!);
                    results.Add(new ListenerBindResult(endpoint, false, error, listenerPlan.Resources) { Warnings = snapshot.Warnings });
                    continue;
                }

                bound.Start();
                ProxyLog.Listening(_runtime.Log, bound.LocalEndPoint.ToString(), listenerPlan.Name);
                Add(endpoint, bound);
                results.Add(new ListenerBindResult(endpoint, true, null, listenerPlan.Resources) { Warnings = snapshot.Warnings });
            }

            Volatile.Write(ref _listeners, next);
            _runtime.Outliers.Retain(plan);
            var result = new ApplyResult(generation, results.ToImmutable());
            Volatile.Write(ref _lastApply, result);
            ProxyLog.Applied(_runtime.Log, generation, result.Listeners.Count(l => l.Bound), result.Failed.Count(), removed.Count, unchanged);
            return result;

            void Add(ListenerEndpoint endpoint, ProxyListener listener)
            {
                next[endpoint] = listener;
                if (!byPort.TryGetValue(endpoint.Port, out var onPort))
                {
                    byPort[endpoint.Port] = onPort = [];
                }

                onPort.Add((endpoint, listener));
            }
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>
    /// The native engine, started with the first listener (a server without listeners runs no thread); null when the
    /// options ask for the managed engine or the native one cannot run here (logged once, with the reason).
    /// </summary>
    private Native.NativeEngine? Engine()
    {
        if (_engineChosen)
        {
            return _engine;
        }

        _engineChosen = true;
        var options = _runtime.Options;
        if (options.RelayEngine == RelayEngine.Managed)
        {
            ProxyLog.Engine(_runtime.Log, "managed (the runtime's sockets), as configured");
            return null;
        }

        if (Native.NativeEngine.Unavailable() is { } reason)
        {
            ProxyLog.Engine(_runtime.Log, $"managed (the runtime's sockets): the native engine cannot run here, {reason}");
            return null;
        }

        var loops = options.EventLoops > 0 ? options.EventLoops : Environment.ProcessorCount;
        _engine = new Native.NativeEngine(_runtime, loops);
        ProxyLog.Engine(_runtime.Log, $"native ({loops} event loops{(_engine.Splice ? ", splice for bulk transfers" : ", no splice")}; TLS connections on the runtime's sockets)");
        return _engine;
    }

    /// <summary>Tests: the native engine, when it runs.</summary>
    internal Native.NativeEngine? NativeEngine => _engine;

    private ListenerSnapshot Build(ListenerPlan listenerPlan, ICertificateProvider certificates, ListenerSnapshot? previous = null)
    {
        var snapshot = ListenerSnapshot.Build(listenerPlan, certificates, _runtime.Breakers, _runtime, previous);
        foreach (var warning in snapshot.Warnings)
        {
            ProxyLog.RouteWarning(_runtime.Log, listenerPlan.Endpoint.ToString(), warning);
        }

        return snapshot;
    }

    /// <summary>
    /// The gateway's own addresses and control ports across the cluster (every silo's silo, Orleans gateway and API
    /// port): no upstream is dialled there and no listener binds those ports from now on (listeners already bound stay).
    /// This process's own ports (<see cref="ProxyOptions.ProtectedPorts"/>) and the plan's listener ports always count.
    /// </summary>
    public void UseClusterEndpoints(IEnumerable<IPAddress> hosts, IEnumerable<int> controlPorts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(controlPorts);
        _runtime.Guard.UseCluster(hosts, controlPorts);
    }

    /// <summary>The last applied bind results (for /readyz and status views).</summary>
    public ApplyResult? LastApply => Volatile.Read(ref _lastApply);

    /// <summary>The socket address a listener of the current plan is bound to (resolves port 0); null when not bound.</summary>
    public IPEndPoint? GetLocalEndPoint(ListenerEndpoint endpoint)
        => Volatile.Read(ref _listeners).TryGetValue(endpoint, out var listener) ? listener.LocalEndPoint : null;

    /// <summary>Open client connections of a listener of the current plan (0 when not bound).</summary>
    public int GetActiveConnections(ListenerEndpoint endpoint)
        => Volatile.Read(ref _listeners).TryGetValue(endpoint, out var listener) ? listener.ActiveConnections : 0;

    /// <summary>Listeners of the last apply with their connections by tenant, and quota refusals; cheap, for status reports.</summary>
    public ProxyStatus GetStatus() => ProxyStatus.Capture(LastApply, GetActiveConnections, _runtime.Tenants) with { Ejections = _runtime.Outliers.Ejections() };

    /// <summary>Open connections of removed listeners that are still draining.</summary>
    public int DrainingConnections
    {
        get
        {
            lock (_draining)
            {
                return _draining.Sum(l => l.ActiveConnections);
            }
        }
    }

    /// <summary>Stops every listener and closes every connection at once.</summary>
    public async ValueTask DisposeAsync()
    {
        await _applyGate.WaitAsync().ConfigureAwait(false);
        List<ProxyListener> all;
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            lock (_draining)
            {
                all = [.. _listeners.Values, .. _draining];
            }

            _listeners = [];
        }
        finally
        {
            _applyGate.Release();
        }

        foreach (var listener in all)
        {
            listener.Abort(CloseReason.ServerStopped);
        }

        // Sockets are closed; the connections only have to run their bookkeeping. Bounded in case one is stuck.
        await Task.WhenAll(all.Select(l => l.AllClosed)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_engine is not null)
        {
            // Loops close whatever is left (bounded above) and their own fds.
            await _engine.DisposeAsync().ConfigureAwait(false);
        }

        _runtime.Outliers.Dispose();
        _runtime.Metrics.Dispose();
    }

    /// <summary>
    /// A wildcard address (0.0.0.0, ::) takes the port on every address (<see cref="Addresses.ListenOverlaps"/>), so
    /// another listener of the same plan on that port cannot bind; say so instead of blaming "another process".
    /// </summary>
    private static string? WildcardConflict(ListenerEndpoint endpoint, Dictionary<int, List<(ListenerEndpoint Endpoint, ProxyListener Listener)>> byPort)
    {
        if (endpoint.Port == 0 || !byPort.TryGetValue(endpoint.Port, out var onPort) || !IPAddress.TryParse(endpoint.Address, out var address))
        {
            return null;
        }

        foreach (var (other, listener) in onPort)
        {
            if (IPAddress.TryParse(other.Address, out var otherAddress) && Addresses.ListenOverlaps(address, otherAddress))
            {
                return $"{endpoint} conflicts with listener '{listener.Current.Plan.Name}' on {other}: a wildcard address takes port {endpoint.Port} on every address " +
                    "(and ::ffff:a.b.c.d is a.b.c.d); use one listener for the port, or different ports";
            }
        }

        return null;
    }

    private void TrackDraining(ProxyListener listener)
    {
        lock (_draining)
        {
            _draining.Add(listener);
        }

        _ = listener.AllClosed.ContinueWith(
            static (_, state) =>
            {
                var (server, done) = ((ProxyServer, ProxyListener))state!;
                lock (server._draining)
                {
                    server._draining.Remove(done);
                }
            },
            (this, listener),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
