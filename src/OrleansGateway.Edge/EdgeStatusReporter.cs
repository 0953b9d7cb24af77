using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Proxy;

namespace OrleansGateway.Edge;

/// <summary>
/// Sends what this edge's data plane serves (<see cref="ProxyServer.GetStatus"/>) to the <see cref="IEdgeStatusGrain"/>
/// of its ambassador id every <see cref="Interval"/> and as soon as <see cref="ReportNow"/> is called (after an apply).
/// It runs on its own loop and only reads counters: a slow or unreachable cluster delays nothing but the next report,
/// and a failed report is logged at debug and simply replaced by the next one.
/// </summary>
public sealed partial class EdgeStatusReporter : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly string _ambassadorId;
    private readonly string _edge;
    private readonly Func<ProxyStatus> _status;
    private readonly ILogger<EdgeStatusReporter> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _now = NewSignal();
    private Task? _loop;
    private long _reported;

    /// <param name="edge">This edge's name in the reports (its silo address).</param>
    /// <param name="status">The data plane's snapshot, usually <see cref="ProxyServer.GetStatus"/>.</param>
    public EdgeStatusReporter(
        IGrainFactory grains,
        string ambassadorId,
        string edge,
        Func<ProxyStatus> status,
        ILogger<EdgeStatusReporter> logger,
        TimeProvider? time = null,
        TimeSpan? interval = null)
    {
        _grains = grains;
        _ambassadorId = ambassadorId;
        _edge = edge;
        _status = status;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Interval = interval ?? EdgeReporting.Interval;
    }

    public TimeSpan Interval { get; }

    /// <summary>Reports sent successfully so far (for tests and diagnostics).</summary>
    public long Reported => Interlocked.Read(ref _reported);

    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The edge status reporter is already started.");
        }

        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Report at once (e.g. right after an apply) instead of at the next tick.</summary>
    public void ReportNow() => Volatile.Read(ref _now).TrySetResult();

    /// <summary>Builds the report of <paramref name="status"/>: listeners with their connections by tenant, and refusals.</summary>
    public static EdgeReport ToReport(string edge, DateTimeOffset reportedAt, ProxyStatus status) => new(
        edge,
        reportedAt,
        [.. status.Listeners.Select(l => new EdgeListenerState(l.Endpoint, l.Bound, l.Error, l.ActiveConnectionsByTenant))],
        status.RefusedConnections);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // A new signal before the report: a ReportNow during it triggers the next one at once.
            var now = NewSignal();
            Volatile.Write(ref _now, now);
            try
            {
                var report = ToReport(_edge, _time.GetUtcNow(), _status());

                // Bounded: a call to a gone cluster would wait for the messaging timeout; the next tick sends a fresher report.
                await _grains.GetEdgeStatusGrain(_ambassadorId).ReportAsync(report)
                    .WaitAsync(Interval, _time, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _reported);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogReportFailed(_logger, _ambassadorId, e);
            }

            await Task.WhenAny(now.Task, Task.Delay(Interval, _time, cancellationToken)).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Edge {AmbassadorId}: reporting the status to the cluster failed; the next report follows in one interval")]
    private static partial void LogReportFailed(ILogger logger, string ambassadorId, Exception exception);
}
