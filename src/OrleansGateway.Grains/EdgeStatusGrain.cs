using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains;

/// <summary>
/// See <see cref="IEdgeStatusGrain"/>. In memory only: after a move or restart the edges fill it again within one
/// report interval.
/// </summary>
public sealed class EdgeStatusGrain(TimeProvider time) : Grain, IEdgeStatusGrain
{
    private readonly EdgeReportBook _book = new(time, EdgeReporting.Expiry);

    public Task ReportAsync(EdgeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _book.Add(report);
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<EdgeReport>> GetAsync() => Task.FromResult(_book.Current());
}

/// <summary>
/// The latest report of each edge with the time it arrived. Ages are measured on this clock, not by the edges'
/// <see cref="EdgeReport.ReportedAt"/>: the machines' clocks may disagree.
/// </summary>
internal sealed class EdgeReportBook(TimeProvider time, TimeSpan expiry)
{
    private readonly Dictionary<string, (EdgeReport Report, DateTimeOffset ReceivedAt)> _reports = new(StringComparer.Ordinal);

    /// <summary>Keeps <paramref name="report"/> unless the edge already sent a newer one (a late retry of an old report).</summary>
    public void Add(EdgeReport report)
    {
        var now = time.GetUtcNow();
        if (_reports.TryGetValue(report.Edge, out var known) && known.Report.ReportedAt > report.ReportedAt)
        {
            return;
        }

        _reports[report.Edge] = (report, now);
        DropExpired(now);
    }

    /// <summary>The reports received within the expiry, by edge name.</summary>
    public ImmutableArray<EdgeReport> Current()
    {
        DropExpired(time.GetUtcNow());
        return [.. _reports.Values.Select(r => r.Report).OrderBy(r => r.Edge, StringComparer.Ordinal)];
    }

    private void DropExpired(DateTimeOffset now)
    {
        foreach (var (edge, entry) in _reports)
        {
            if (now - entry.ReceivedAt > expiry)
            {
                _reports.Remove(edge);
            }
        }
    }
}
