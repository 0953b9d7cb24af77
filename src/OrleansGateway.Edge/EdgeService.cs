using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Proxy;

namespace OrleansGateway.Edge;

/// <summary>What the edge of a silo needs from the host.</summary>
/// <param name="AmbassadorId">The gateway installation whose routes this edge serves.</param>
/// <param name="EdgeName">How this edge names itself in its reports (the silo's address).</param>
public sealed record EdgeOptions(string AmbassadorId, string EdgeName);

/// <summary>
/// The edge: an <see cref="EdgeRouteCache"/> on this silo feeds every new snapshot of the grains' routes to the data
/// plane. The cache runs beside the proxy, so no connection ever waits on a grain call; when the cluster is gone the
/// proxy keeps the last snapshot. An <see cref="EdgeStatusReporter"/> tells the cluster what this edge serves
/// (every <see cref="EdgeReporting.Interval"/> and right after each apply), named by <see cref="EdgeOptions.EdgeName"/>; a
/// <see cref="ClusterEndpointsWatcher"/> keeps the data plane away from every silo's control ports.
/// What it serves is published in <see cref="EdgeState"/> (for <c>/readyz</c> and <c>/status</c>).
/// </summary>
public sealed partial class EdgeService(
    EdgeOptions options,
    IGrainFactory grains,
    ProxyServer proxy,
    EdgeState state,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService
{
    private static readonly TimeSpan UnsubscribeBound = TimeSpan.FromSeconds(3);

    /// <summary>How often listeners that could not be bound are tried again (the port may be freed at any time).</summary>
    private static readonly TimeSpan BindRetryPeriod = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger = loggers.CreateLogger<EdgeService>();

    // One apply at a time: the cache's new snapshots and the bind retries of the current one.
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private EdgeRouteCache? _cache;
    private EdgeStatusReporter? _reporter;
    private ClusterEndpointsWatcher? _endpoints;
    private Task _bindRetries = Task.CompletedTask;

    // Completed by an apply that left listeners unbound; the retry loop sleeps on it otherwise (no timer while all are bound).
    private TaskCompletionSource _unbound = NewSignal();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _reporter = new EdgeStatusReporter(grains, options.AmbassadorId, options.EdgeName, proxy.GetStatus,
            loggers.CreateLogger<EdgeStatusReporter>(), time);
        _reporter.Start();
        _endpoints = new ClusterEndpointsWatcher(grains, proxy, loggers.CreateLogger<ClusterEndpointsWatcher>(), time);
        _endpoints.Start();
        _cache = new EdgeRouteCache(grains, options.AmbassadorId, ApplyAsync, loggers.CreateLogger<EdgeRouteCache>(), time);
        state.Attach(_cache);
        _cache.Start();
        _bindRetries = RetryUnboundAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _bindRetries.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_reporter is not null)
        {
            // Its last report expires at the grain on its own (no report is sent on the way out).
            await _reporter.DisposeAsync();
        }

        if (_endpoints is not null)
        {
            await _endpoints.DisposeAsync();
        }

        if (_cache is not null)
        {
            // Unsubscribing needs the directory grain; without a cluster that call would hold shutdown for the
            // messaging timeout (30 s). The subscription expires on its own.
            try
            {
                await _cache.DisposeAsync().AsTask().WaitAsync(UnsubscribeBound, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                LogStopSlow(_logger, UnsubscribeBound);
            }
        }
    }

    private async Task ApplyAsync(EdgeSnapshot snapshot, CancellationToken cancellationToken)
    {
        await _applyGate.WaitAsync(cancellationToken);
        try
        {
            await ApplyLockedAsync(snapshot, cancellationToken);
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>
    /// A port that was busy when its listener was applied is bound as soon as it is free: the current snapshot is
    /// applied again every <see cref="BindRetryPeriod"/> while some of its listeners are unbound (the data plane keeps the
    /// bound ones as they are). Quiet when idle: while every listener is bound the loop waits for an apply that leaves one
    /// unbound instead of ticking (docs/benchmarks.md, "Idle").
    /// </summary>
    private async Task RetryUnboundAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Volatile.Read(ref _unbound).Task.WaitAsync(cancellationToken);
                await Task.Delay(BindRetryPeriod, time, cancellationToken);
                await _applyGate.WaitAsync(cancellationToken);
                try
                {
                    // Under the gate, so the current snapshot is the one applied last (a newer one has had its own apply).
                    if (state.Edge is { } serving && serving.Apply.Failed.Any())
                    {
                        await ApplyLockedAsync(serving.Snapshot, cancellationToken);
                    }
                    else
                    {
                        // Every listener is bound; the next apply that leaves one unbound completes the new signal.
                        Volatile.Write(ref _unbound, NewSignal());
                    }
                }
                finally
                {
                    _applyGate.Release();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogBindRetryFailed(_logger, e);
            }
        }
    }

    private async Task ApplyLockedAsync(EdgeSnapshot snapshot, CancellationToken cancellationToken)
    {
        // No route is served before the data plane knows every silo's control ports (the cache offers the snapshot again).
        await _endpoints!.EnsureReadAsync(cancellationToken);
        var apply = await proxy.ApplyAsync(snapshot.Plan, snapshot.Certificates, cancellationToken);
        state.Publish(new EdgeServing(snapshot, apply, time.GetUtcNow()));
        if (apply.Failed.Any())
        {
            Volatile.Read(ref _unbound).TrySetResult();
        }

        _reporter?.ReportNow();
        LogApplied(_logger, apply.Generation, snapshot.DirectoryVersion, apply.Listeners.Length, apply.Failed.Count());
        foreach (var failed in apply.Failed)
        {
            LogBindFailed(_logger, failed.Endpoint.ToString(), failed.Error);
        }

        foreach (var problem in snapshot.CertificateProblems)
        {
            LogCertificateProblem(_logger, problem.Message);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(7, LogLevel.Information,
        "Applied configuration generation {Generation} (directory version {DirectoryVersion}): {Listeners} listener(s), {Unbound} not bound")]
    private static partial void LogApplied(ILogger logger, long generation, long directoryVersion, int listeners, int unbound);

    [LoggerMessage(3, LogLevel.Warning, "Listener {Endpoint} could not be bound: {Error}")]
    private static partial void LogBindFailed(ILogger logger, string endpoint, string? error);

    [LoggerMessage(8, LogLevel.Warning, "Certificate not served: {Problem}")]
    private static partial void LogCertificateProblem(ILogger logger, string problem);

    [LoggerMessage(11, LogLevel.Information, "The edge route cache did not stop within {Bound} (no cluster to unsubscribe from); stopping without it")]
    private static partial void LogStopSlow(ILogger logger, TimeSpan bound);

    [LoggerMessage(14, LogLevel.Warning, "Binding the listeners that were left unbound failed; trying again")]
    private static partial void LogBindRetryFailed(ILogger logger, Exception exception);
}
