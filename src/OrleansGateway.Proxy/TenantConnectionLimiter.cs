using System.Collections.Concurrent;
using System.Collections.Immutable;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// Enforces <see cref="GatewayPlan.ConnectionLimits"/> on this edge and counts open connections by tenant (and by
/// listener and tenant, for the status report). Owned by the server so that counts survive plan swaps: connections
/// accepted under an older plan still count against the limit of the new one, and lowering a limit refuses only new
/// connections.
/// <para>
/// The connection path takes no lock and allocates nothing: the slot of a (listener, tenant) pair is created at plan
/// apply (a pair first seen by a connection of an older snapshot is created once, then found), and admission is a
/// compare-and-swap on the tenant's counter.
/// </para>
/// </summary>
internal sealed class TenantConnectionLimiter(ProxyMetrics metrics)
{
    private readonly ConcurrentDictionary<string, BoundedCounter> _tenants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(ListenerEndpoint Endpoint, string Tenant), TenantSlot> _slots = new();

    /// <summary>The tenant a connection on <paramref name="route"/> belongs to (a canary group is one tenant's, see the listener arbitration).</summary>
    public static string? TenantOf(RouteEntry route) => route.Plan.Upstreams.IsDefaultOrEmpty ? null : route.Plan.Upstreams[0].Tenant;

    /// <summary>Installs the limits of a new plan and the slots of its (listener, tenant) pairs; called once per apply.</summary>
    public void Apply(GatewayPlan plan)
    {
        var limits = plan.ConnectionLimits ?? ImmutableDictionary<string, int>.Empty;
        foreach (var listener in plan.Listeners)
        {
            var routes = listener.SniRoutes.Select(r => r.Route).Append(listener.CatchAll).OfType<RoutePlan>();
            foreach (var tenant in routes.SelectMany(r => r.Upstreams).Select(u => u.Tenant).Distinct(StringComparer.Ordinal))
            {
                SlotFor(listener.Endpoint, tenant);
            }
        }

        // Tenants that lost their limit become unlimited; limits of tenants without routes here wait for their routes.
        foreach (var (tenant, counter) in _tenants)
        {
            counter.Limit = limits.TryGetValue(tenant, out var limit) ? Math.Max(0, limit) : int.MaxValue;
        }

        foreach (var (tenant, limit) in limits)
        {
            CounterFor(tenant).Limit = Math.Max(0, limit);
        }
    }

    /// <summary>
    /// Takes a slot of <paramref name="route"/>'s tenant for one connection of <paramref name="snapshot"/>'s listener.
    /// Always returns the pair's slot (for the access log); true when the connection was admitted, so that the caller
    /// must <see cref="TenantSlot.Release"/> it when it closes. A refusal is counted (report and metric).
    /// </summary>
    public bool TryAdmit(ListenerSnapshot snapshot, RouteEntry route, out TenantSlot? slot) => Admit(snapshot, route, take: true, out slot);

    /// <summary>
    /// Whether <paramref name="route"/>'s tenant has room for one more connection, without taking a slot: a terminating
    /// route takes its slot only once the client's handshake is done (<see cref="TryAdmit"/> then), so that a client that
    /// stalls its handshake holds none of the tenant's slots; a tenant already full is still refused before the handshake.
    /// A refusal is counted as in <see cref="TryAdmit"/>.
    /// </summary>
    public bool HasRoom(ListenerSnapshot snapshot, RouteEntry route, out TenantSlot? slot) => Admit(snapshot, route, take: false, out slot);

    private bool Admit(ListenerSnapshot snapshot, RouteEntry route, bool take, out TenantSlot? slot)
    {
        if (TenantOf(route) is not { } tenant)
        {
            // No upstream: nothing to count; the connection is closed as "no route" right after.
            slot = null;
            return true;
        }

        slot = SlotFor(snapshot.Plan.Endpoint, tenant);
        if (take ? slot.TryAcquire() : slot.HasRoom())
        {
            return true;
        }

        metrics.QuotaRefusals.Add(1, ProxyMetrics.With(snapshot.Tags, "tenant", tenant));
        return false;
    }

    /// <summary>Open connections by listener endpoint and tenant (pairs with none are left out); one pass, for reports.</summary>
    public Dictionary<ListenerEndpoint, ImmutableDictionary<string, int>> ActiveByListener() =>
        _slots.Where(s => s.Value.Active > 0)
            .GroupBy(s => s.Key.Endpoint)
            .ToDictionary(g => g.Key, g => g.ToImmutableDictionary(s => s.Key.Tenant, s => s.Value.Active, StringComparer.Ordinal));

    /// <summary>Open connections by tenant on this edge, draining listeners included (tenants with none are left out).</summary>
    public ImmutableDictionary<string, int> Active() =>
        _tenants.Where(t => t.Value.Active > 0).ToImmutableDictionary(t => t.Key, t => t.Value.Active, StringComparer.Ordinal);

    /// <summary>Connections refused over the limit by tenant, since the server started (tenants with none are left out).</summary>
    public ImmutableDictionary<string, long> Refused() =>
        _tenants.Where(t => t.Value.Refused > 0).ToImmutableDictionary(t => t.Key, t => t.Value.Refused, StringComparer.Ordinal);

    private TenantSlot SlotFor(ListenerEndpoint endpoint, string tenant) =>
        _slots.TryGetValue((endpoint, tenant), out var slot)
            ? slot
            : _slots.GetOrAdd((endpoint, tenant), static (key, self) => new TenantSlot(key.Tenant, self.CounterFor(key.Tenant)), this);

    private BoundedCounter CounterFor(string tenant) =>
        _tenants.TryGetValue(tenant, out var counter) ? counter : _tenants.GetOrAdd(tenant, static _ => new BoundedCounter());
}

/// <summary>One tenant on one listener: counts its open connections there and admits through the tenant's counter.</summary>
internal sealed class TenantSlot(string tenant, BoundedCounter counter)
{
    private int _active;

    public string Tenant { get; } = tenant;

    public int Active => Volatile.Read(ref _active);

    /// <summary>Whether the tenant has room for one more now (a refusal is counted when not); takes nothing.</summary>
    public bool HasRoom() => counter.HasRoom();

    public bool TryAcquire()
    {
        if (!counter.TryAcquire())
        {
            return false;
        }

        Interlocked.Increment(ref _active);
        return true;
    }

    public void Release()
    {
        Interlocked.Decrement(ref _active);
        counter.Release();
    }
}
