using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Proxy;

namespace OrleansGateway.Edge;

/// <summary>
/// Keeps the data plane's copy of the gateway's own endpoints across the cluster (<see cref="IClusterEndpointsGrain"/>:
/// every silo's addresses and its silo, Orleans gateway and API ports) current: read every <see cref="Interval"/> and
/// handed to <see cref="ProxyServer.UseClusterEndpoints"/>, so no upstream reaches them and no listener binds their
/// ports. When the cluster cannot be reached the last copy stays (silos rarely change their ports); this process's own
/// ports are always protected by the data plane itself.
/// </summary>
public sealed partial class ClusterEndpointsWatcher : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly ProxyServer _proxy;
    private readonly ILogger<ClusterEndpointsWatcher> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile bool _read;

    public ClusterEndpointsWatcher(IGrainFactory grains, ProxyServer proxy, ILogger<ClusterEndpointsWatcher> logger, TimeProvider? time = null, TimeSpan? interval = null)
    {
        _grains = grains;
        _proxy = proxy;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Interval = interval ?? EdgeReporting.Interval;
    }

    public TimeSpan Interval { get; }

    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The cluster endpoints watcher is already started.");
        }

        _loop = Task.Run(() => EdgeReporting.RepeatAsync(RefreshAsync, Interval, _time, e => LogReadFailed(_logger, e), _stop.Token));
    }

    /// <summary>
    /// Reads the endpoints now unless they were read once already; throws when the cluster cannot answer. The edge
    /// applies no snapshot before this succeeded: until then only this process's own ports would be protected.
    /// </summary>
    public async Task EnsureReadAsync(CancellationToken cancellationToken)
    {
        if (!_read)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        // Bounded: a call to a gone cluster would wait for the messaging timeout.
        var endpoints = await _grains.GetClusterEndpointsGrain().GetAsync().WaitAsync(Interval * 5, _time, cancellationToken).ConfigureAwait(false);
        _proxy.UseClusterEndpoints(endpoints.HostAddresses(), endpoints.Ports);
        _read = true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reading the cluster's own endpoints failed; the data plane keeps the last ones")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
