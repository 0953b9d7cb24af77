using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Tests.Infrastructure;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy;

namespace OrleansGateway.Grains.Tests;

/// <summary>Edge status reports: the grain keeps the latest report of each live edge and forgets gone edges.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EdgeStatusTests(GatewayClusterFixture fixture)
{
    private static readonly ListenerEndpoint Endpoint = new("127.0.0.1", 7000);

    [Fact]
    public void Reports_are_kept_per_edge_and_dropped_once_older_than_the_expiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-26T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var book = EdgeStatusGrain.EdgeReports(time);

        book.Add(Report("edge-1", time.GetUtcNow(), active: 1));
        book.Add(Report("edge-2", time.GetUtcNow(), active: 2));
        Assert.Equal(["edge-1", "edge-2"], book.Current().Select(r => r.Edge));

        time.Advance(EdgeReporting.Expiry / 2);
        book.Add(Report("edge-1", time.GetUtcNow(), active: 3));
        time.Advance(EdgeReporting.Expiry / 2);
        Assert.Equal(2, book.Current().Length); // exactly at the expiry edge-2 still counts

        time.Advance(TimeSpan.FromMilliseconds(1));
        var left = Assert.Single(book.Current());
        Assert.Equal("edge-1", left.Edge);
        Assert.Equal(3, left.Listeners.Single().ActiveConnections["t"]);

        time.Advance(EdgeReporting.Expiry);
        Assert.Empty(book.Current());
    }

    [Fact]
    public void A_late_older_report_does_not_replace_a_newer_one()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var book = EdgeStatusGrain.EdgeReports(time);
        var now = time.GetUtcNow();

        book.Add(Report("edge-1", now, active: 5));
        book.Add(Report("edge-1", now - EdgeReporting.Interval, active: 1));

        Assert.Equal(5, Assert.Single(book.Current()).Listeners.Single().ActiveConnections["t"]);
    }

    [Fact]
    public async Task A_report_sent_through_one_silo_is_read_through_another()
    {
        var grain = fixture.Silo(0).GetEdgeStatusGrain("status-cluster");
        await grain.ReportAsync(Report("edge-x", DateTimeOffset.UtcNow, active: 4) with { RefusedConnections = ImmutableDictionary<string, long>.Empty.Add("t", 9) });

        var reports = await fixture.Silo(2).GetEdgeStatusGrain("status-cluster").GetAsync();

        var report = Assert.Single(reports);
        Assert.Equal("edge-x", report.Edge);
        Assert.Equal(9, report.RefusedConnections["t"]);
        var listener = Assert.Single(report.Listeners);
        Assert.Equal(Endpoint, listener.Endpoint);
        Assert.True(listener.Bound);
        Assert.Equal(4, listener.ActiveConnections["t"]);
    }

    [Fact]
    public async Task The_reporter_sends_at_start_and_at_once_when_asked_not_only_on_its_tick()
    {
        // The fake clock never advances: every report after the first comes from ReportNow, as after an apply.
        var active = 1;
        var reporter = new EdgeStatusReporter(fixture.Silo(1), "status-reporter", "edge-r",
            () => Status(Volatile.Read(ref active)), NullLogger<EdgeStatusReporter>.Instance, new FakeTimeProvider(DateTimeOffset.UtcNow));
        var grain = fixture.Silo(0).GetEdgeStatusGrain("status-reporter");
        await using (reporter)
        {
            reporter.Start();
            await Eventually.Get(grain.GetAsync, r => r.Length == 1, what: "the first report");

            Volatile.Write(ref active, 7);
            reporter.ReportNow();

            var reports = await Eventually.Get(grain.GetAsync,
                r => r.Single().Listeners.Single().ActiveConnections.GetValueOrDefault("t") == 7, what: "the report asked for");
            var report = reports.Single();
            Assert.Equal("edge-r", report.Edge);
            Assert.Equal("boom", report.Listeners.Single().Error);
            Assert.False(report.Listeners.Single().Bound);
            Assert.Equal(3, report.RefusedConnections["t"]);
        }
    }

    [Fact]
    public async Task An_unreachable_cluster_only_fails_the_report_and_the_reporter_keeps_going()
    {
        var calls = 0;
        var reporter = new EdgeStatusReporter(fixture.Silo(1), "status-failing", "edge-f",
            () => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("status unavailable") : Status(2),
            NullLogger<EdgeStatusReporter>.Instance, interval: TimeSpan.FromMilliseconds(50));
        await using (reporter)
        {
            reporter.Start();
            await Eventually.Get(() => Task.FromResult(reporter.Reported), n => n >= 1, what: "a report after the failed one");
        }

        Assert.True(calls >= 2);
        Assert.Equal("edge-f", Assert.Single(await fixture.Silo(0).GetEdgeStatusGrain("status-failing").GetAsync()).Edge);
    }

    private static EdgeReport Report(string edge, DateTimeOffset at, int active) => new(
        edge,
        at,
        [new EdgeListenerState(Endpoint, true, null, ImmutableDictionary<string, int>.Empty.Add("t", active))],
        ImmutableDictionary<string, long>.Empty);

    private static ProxyStatus Status(int active) => new(
        1,
        [new ListenerStatus(Endpoint, false, "boom", active, ImmutableDictionary<string, int>.Empty.Add("t", active))],
        ImmutableDictionary<string, int>.Empty.Add("t", active),
        ImmutableDictionary<string, long>.Empty.Add("t", 3));
}
