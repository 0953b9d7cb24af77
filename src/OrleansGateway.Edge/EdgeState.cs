using System.Collections.Immutable;
using OrleansGateway.Model;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Edge;

/// <summary>What the data plane of this edge serves: one snapshot of the grains' routes and what binding it gave.</summary>
public sealed record EdgeServing(EdgeSnapshot Snapshot, ApplyResult Apply, DateTimeOffset AppliedAt)
{
    public bool AllBound => !Apply.Failed.Any();

    /// <summary>
    /// The listeners that could not be bound, once per tenant whose routes they carry (a shared TLS port carries several
    /// tenants' SNI routes); computed once per apply.
    /// </summary>
    public ImmutableArray<UnboundListener> Unbound { get; } = UnboundOf(Snapshot.Plan, Apply);

    private static ImmutableArray<UnboundListener> UnboundOf(GatewayPlan plan, ApplyResult apply)
    {
        if (apply.Failed.FirstOrDefault() is null)
        {
            return [];
        }

        var plans = plan.Listeners.ToDictionary(l => l.Endpoint);
        return [.. apply.Failed.SelectMany(failed => TenantsOf(plans.GetValueOrDefault(failed.Endpoint))
            .Select(tenant => new UnboundListener(tenant, failed.Endpoint, failed.Error)))];
    }

    private static IEnumerable<string> TenantsOf(ListenerPlan? listener)
    {
        var tenants = listener is null
            ? []
            : listener.SniRoutes.Select(r => r.Route).Append(listener.CatchAll).OfType<RoutePlan>()
                .SelectMany(r => r.Upstreams).Select(u => u.Tenant).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return tenants.Count > 0 ? tenants : [CompileOptions.DefaultTenant];
    }
}

/// <summary>What this silo's edge serves, published whole so that readers (<c>/readyz</c>, <c>/status</c>) never see half of an update.</summary>
public sealed class EdgeState
{
    private volatile EdgeServing? _edge;
    private volatile EdgeRouteCache? _cache;
    private TaskCompletionSource _edgeChanged = NewSignal();

    /// <summary>Null until the edge applied its first snapshot (always null on a core silo).</summary>
    public EdgeServing? Edge => _edge;

    /// <summary>The edge's route cache, for its connection state; null on a core silo.</summary>
    public EdgeRouteCache? Cache => _cache;

    public void Publish(EdgeServing edge)
    {
        _edge = edge;
        Interlocked.Exchange(ref _edgeChanged, NewSignal()).TrySetResult();
    }

    /// <summary>The edge's state once it serves <paramref name="directoryVersion"/> or later; null when that takes longer than <paramref name="timeout"/>.</summary>
    public async Task<EdgeServing?> WaitForEdgeAsync(long directoryVersion, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var changed = Volatile.Read(ref _edgeChanged).Task;
            if (_edge is { } edge && edge.Snapshot.DirectoryVersion >= directoryVersion)
            {
                return edge;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }

    public void Attach(EdgeRouteCache cache) => _cache = cache;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
