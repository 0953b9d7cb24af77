using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;

namespace OrleansGateway.Sources.Kubernetes;

/// <summary>One watch as <c>/readyz</c> shows it.</summary>
/// <param name="Watch">The resource, and its namespace when the watch is restricted to one (<c>tcpmappings in team-a</c>).</param>
/// <param name="Reachable">Whether the last list or watch of it reached the API server.</param>
/// <param name="Since">When it became reachable or unreachable.</param>
/// <param name="Error">Why it is unreachable; null when reachable.</param>
public sealed record WatchHealth(string Watch, bool Reachable, DateTimeOffset Since, string? Error);

/// <summary>Every watch of this process, for <c>/readyz</c>.</summary>
/// <param name="ApiServer"><c>reachable</c> when every watch is, <c>unreachable</c> otherwise, <c>connecting</c> before the first answer.</param>
public sealed record KubernetesHealthReport(string ApiServer, ImmutableArray<WatchHealth> Watches);

/// <summary>
/// Whether this process reaches the Kubernetes API server, watch by watch, and what the Kubernetes parts did: the
/// detail of <c>/readyz</c> and the <c>OrleansGateway.Kubernetes</c> meter (docs/kubernetes.md, "Metrics"). An
/// unreachable API server does not make the gateway unready: what was applied stays served.
/// </summary>
public sealed class KubernetesHealth : IDisposable
{
    public const string MeterName = "OrleansGateway.Kubernetes";

    private readonly ConcurrentDictionary<string, WatchHealth> _watches = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly Meter _meter;
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _applies;
    private readonly Counter<long> _evaluations;
    private readonly Counter<long> _endpointUpdates;
    private readonly Counter<long> _statusWrites;
    private readonly Counter<long> _servicePatches;

    public KubernetesHealth(TimeProvider time, IMeterFactory? meterFactory = null)
    {
        _time = time;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _restarts = _meter.CreateCounter<long>("ogw.kubernetes.watch.restarts", description:
            "Watches started again, by resource and reason: gone (410, list again), ended (watch again from the last version), cut (the stream broke), error (list again after a backoff)");
        _applies = _meter.CreateCounter<long>("ogw.kubernetes.applies", description: "Tenants applied from Kubernetes resources");
        _evaluations = _meter.CreateCounter<long>("ogw.kubernetes.evaluations", description:
            "Tenants re-evaluated (their namespaces' resources assembled again and compared with what they were given): those a change touched, and those retried (waiting for their tenant, a failed apply)");
        _endpointUpdates = _meter.CreateCounter<long>("ogw.kubernetes.endpoints.updates", description:
            "Services whose endpoints were read again on this edge: only those a Service or EndpointSlice change touched");
        _statusWrites = _meter.CreateCounter<long>("ogw.kubernetes.status.writes", description:
            "Accepted conditions written back, by outcome: status (status subresource patched), event (an Event recorded), failed");
        _servicePatches = _meter.CreateCounter<long>("ogw.kubernetes.service.patches", description: "Patches of the --kubernetes-service Service's ports");
        _meter.CreateObservableGauge("ogw.kubernetes.api.reachable", () => _watches.Values.Select(w =>
            new Measurement<int>(w.Reachable ? 1 : 0, new KeyValuePair<string, object?>("watch", w.Watch))), description:
            "1 while a watch reaches the Kubernetes API server, 0 while it does not (the last applied state stays served)");
    }

    public KubernetesHealthReport Report()
    {
        var watches = _watches.Values.OrderBy(w => w.Watch, StringComparer.Ordinal).ToImmutableArray();
        var state = watches.IsEmpty ? "connecting" : watches.All(w => w.Reachable) ? "reachable" : "unreachable";
        return new KubernetesHealthReport(state, watches);
    }

    /// <summary>A list or watch event arrived: the API server answers.</summary>
    public void Reachable(string watch) => _watches.AddOrUpdate(
        watch,
        w => new WatchHealth(w, true, _time.GetUtcNow(), null),
        (w, before) => before.Reachable ? before : new WatchHealth(w, true, _time.GetUtcNow(), null));

    /// <summary>A list or watch failed; the last applied state stays served while it is retried.</summary>
    public void Unreachable(string watch, string error) => _watches.AddOrUpdate(
        watch,
        w => new WatchHealth(w, false, _time.GetUtcNow(), error),
        (w, before) => new WatchHealth(w, false, before.Reachable ? _time.GetUtcNow() : before.Since, error));

    /// <summary>A watch stopped running (its session ended): it no longer counts.</summary>
    public void Forget(string watch) => _watches.TryRemove(watch, out _);

    public void Restarted(string resource, string reason) =>
        _restarts.Add(1, new KeyValuePair<string, object?>("resource", resource), new KeyValuePair<string, object?>("reason", reason));

    public void Applied() => _applies.Add(1);

    public void Evaluated(int tenants) => _evaluations.Add(tenants);

    public void EndpointsUpdated(int services) => _endpointUpdates.Add(services);

    public void StatusWritten(string outcome) => _statusWrites.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void ServicePatched() => _servicePatches.Add(1);

    public void Dispose() => _meter.Dispose();
}
