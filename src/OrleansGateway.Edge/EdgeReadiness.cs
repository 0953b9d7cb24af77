using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Edge;

/// <summary>A listener of the served snapshot that could not be bound, with the tenant whose routes it carries.</summary>
public sealed record UnboundListener(string Tenant, ListenerEndpoint Endpoint, string? Error);

/// <summary>
/// Whether this edge can serve (docs/control-plane.md, "Readiness"): it has applied a snapshot of the routes — from the
/// cluster, or, while the control plane is unreachable, the last good one it keeps serving. Neither a tenant's busy port
/// nor an unreachable control plane makes it unready; only <see cref="MaxSnapshotAge"/>, when set, does, once the
/// control plane has been unreachable and the last good snapshot is older than that.
/// </summary>
/// <param name="Serving">Null before the first snapshot was applied.</param>
/// <param name="ControlPlaneReachable">Whether the last refresh from the cluster succeeded.</param>
/// <param name="SnapshotConfirmedAt">When the cluster last confirmed the served snapshot as current (its last successful refresh).</param>
/// <param name="SnapshotAge">How long ago that was; null before the first confirmation.</param>
public sealed record EdgeReadiness(
    EdgeServing? Serving,
    bool ControlPlaneReachable,
    DateTimeOffset? SnapshotConfirmedAt,
    TimeSpan? SnapshotAge,
    TimeSpan? MaxSnapshotAge)
{
    public bool HasSnapshot => Serving is not null;

    /// <summary>True when the snapshot is too old by <c>--max-snapshot-age</c> (only while the control plane is unreachable).</summary>
    public bool TooOld => !ControlPlaneReachable && MaxSnapshotAge is { } max && SnapshotAge is { } age && age > max;

    public bool Ready => HasSnapshot && !TooOld;

    public static EdgeReadiness Of(EdgeState state, TimeProvider time, TimeSpan? maxSnapshotAge)
    {
        var cache = state.Cache;
        var confirmed = cache?.LastSuccessfulRefresh;
        var age = confirmed is { } at ? time.GetUtcNow() - at : (TimeSpan?)null;
        return new EdgeReadiness(state.Edge, cache?.IsConnected ?? false, confirmed, age < TimeSpan.Zero ? TimeSpan.Zero : age, maxSnapshotAge);
    }
}

/// <summary>
/// The edge's readiness as metrics (meter <see cref="MeterName"/>), read when scraped: control-plane reachability, the
/// served snapshot's age, readiness, and unbound listeners by tenant.
/// </summary>
public sealed class EdgeMetrics : IDisposable
{
    public const string MeterName = "OrleansGateway.Edge";

    private readonly Meter _meter;

    public EdgeMetrics(EdgeState state, TimeProvider time, TimeSpan? maxSnapshotAge, IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _meter.CreateObservableGauge("ogw.edge.ready", () => EdgeReadiness.Of(state, time, maxSnapshotAge).Ready ? 1 : 0,
            description: "1 when this edge serves a snapshot of the routes and /readyz answers 200");
        _meter.CreateObservableGauge("ogw.edge.control_plane.reachable", () => state.Cache?.IsConnected == true ? 1 : 0,
            description: "1 when the last refresh of the routes from the cluster succeeded");
        _meter.CreateObservableGauge("ogw.edge.snapshot.age", () => EdgeReadiness.Of(state, time, maxSnapshotAge).SnapshotAge is { } age
                ? [new Measurement<double>(age.TotalSeconds)]
                : Array.Empty<Measurement<double>>(),
            unit: "s", description: "Time since the cluster last confirmed the served snapshot of the routes as current");
        _meter.CreateObservableGauge("ogw.edge.listeners.unbound", () => (state.Edge?.Unbound ?? [])
                .GroupBy(u => u.Tenant, StringComparer.Ordinal)
                .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("tenant", g.Key))),
            unit: "{listener}", description: "Listeners of the served snapshot that could not be bound, by tenant (e.g. a port held by another process)");
    }

    public void Dispose() => _meter.Dispose();
}
