using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains;

/// <summary>
/// See <see cref="IEdgeStatusGrain"/>. In memory only: after a move or restart the edges fill it again within one
/// report interval.
/// </summary>
public sealed class EdgeStatusGrain(TimeProvider time) : Grain, IEdgeStatusGrain
{
    private readonly ReportBook<EdgeReport> _book = EdgeReports(time);

    public Task ReportAsync(EdgeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _book.Add(report);
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<EdgeReport>> GetAsync() => Task.FromResult(_book.Current());

    internal static ReportBook<EdgeReport> EdgeReports(TimeProvider time) => new(time, EdgeReporting.Expiry, r => r.Edge, r => r.ReportedAt);
}

/// <summary>
/// The latest report of each reporter (an edge, a silo) with the time it arrived. Ages are measured on this clock, not
/// by the reporters' own time stamps: the machines' clocks may disagree.
/// </summary>
internal sealed class ReportBook<TReport>(TimeProvider time, TimeSpan expiry, Func<TReport, string> nameOf, Func<TReport, DateTimeOffset> reportedAt)
{
    private readonly Dictionary<string, (TReport Report, DateTimeOffset ReceivedAt)> _reports = new(StringComparer.Ordinal);

    /// <summary>Keeps <paramref name="report"/> unless its reporter already sent a newer one (a late retry of an old report).</summary>
    public void Add(TReport report)
    {
        var now = time.GetUtcNow();
        var name = nameOf(report);
        if (_reports.TryGetValue(name, out var known) && reportedAt(known.Report) > reportedAt(report))
        {
            return;
        }

        _reports[name] = (report, now);
        DropExpired(now);
    }

    /// <summary>The reports received within the expiry, by reporter name.</summary>
    public ImmutableArray<TReport> Current()
    {
        DropExpired(time.GetUtcNow());
        return [.. _reports.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.Report)];
    }

    private void DropExpired(DateTimeOffset now)
    {
        foreach (var (name, entry) in _reports)
        {
            if (now - entry.ReceivedAt > expiry)
            {
                _reports.Remove(name);
            }
        }
    }
}
