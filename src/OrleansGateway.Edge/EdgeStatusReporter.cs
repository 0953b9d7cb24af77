using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Proxy;

namespace OrleansGateway.Edge;

/// <summary>
/// Sends what this edge's data plane serves (<see cref="ProxyServer.GetStatus"/>) to the <see cref="IEdgeStatusGrain"/>
/// of its ambassador id every <see cref="Interval"/> and as soon as <see cref="ReportNow"/> is called (after an apply).
/// A tick whose report is the same as the last one sent skips the grain call unless <see cref="HeartbeatIntervals"/>
/// intervals passed (quiet when idle; the cluster drops a report after <see cref="EdgeReporting.Expiry"/>, five intervals).
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
    /// <summary>An unchanged report is still sent after this many intervals, well within the five of the expiry.</summary>
    public const double HeartbeatIntervals = 2.5;

    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _now = NewSignal();
    private EdgeReport? _lastSent;
    private long _lastSentAt;
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

    /// <summary>Builds the report of <paramref name="status"/>: listeners with their connections by tenant, refusals and ejections.</summary>
    public static EdgeReport ToReport(string edge, DateTimeOffset reportedAt, ProxyStatus status) => new(
        edge,
        reportedAt,
        [.. status.Listeners.Select(l => new EdgeListenerState(l.Endpoint, l.Bound, l.Error, l.ActiveConnectionsByTenant))],
        status.RefusedConnections)
    {
        Ejections = [.. status.Ejections.Select(e => new EdgeEjection(e.Endpoint, e.Host, e.Tenant, e.Mapping, e.Service, e.Reason, e.Ejection, e.Since, e.Until))],
    };

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
        var asked = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            // A new signal before the report: a ReportNow during it triggers the next one at once.
            var now = NewSignal();
            Volatile.Write(ref _now, now);
            try
            {
                var report = ToReport(_edge, _time.GetUtcNow(), _status());
                if (asked || _lastSent is null || !SameState(report, _lastSent) || _time.GetElapsedTime(_lastSentAt) >= Interval * HeartbeatIntervals)
                {
                    // Bounded: a call to a gone cluster would wait for the messaging timeout; the next tick sends a fresher report.
                    await _grains.GetEdgeStatusGrain(_ambassadorId).ReportAsync(report)
                        .WaitAsync(Interval, _time, cancellationToken).ConfigureAwait(false);
                    _lastSent = report;
                    _lastSentAt = _time.GetTimestamp();
                    Interlocked.Increment(ref _reported);
                }
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
            asked = now.Task.IsCompleted;
        }
    }

    /// <summary>The same listeners, errors, connections by tenant, refusals and ejections (the time aside).</summary>
    internal static bool SameState(EdgeReport a, EdgeReport b)
    {
        if (a.Edge != b.Edge || a.Listeners.Length != b.Listeners.Length || !SameCounts(a.RefusedConnections, b.RefusedConnections)
            || !a.Ejections.SequenceEqual(b.Ejections))
        {
            return false;
        }

        for (var i = 0; i < a.Listeners.Length; i++)
        {
            var (x, y) = (a.Listeners[i], b.Listeners[i]);
            if (x.Endpoint != y.Endpoint || x.Bound != y.Bound || x.Error != y.Error || !SameCounts(x.ActiveConnections, y.ActiveConnections))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameCounts<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b)
        => a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var other) && EqualityComparer<T>.Default.Equals(kv.Value, other));

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Edge {AmbassadorId}: reporting the status to the cluster failed; the next report follows in one interval")]
    private static partial void LogReportFailed(ILogger logger, string ambassadorId, Exception exception);
}
