using System.Collections.Immutable;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>One listener of the current plan as this server serves it.</summary>
/// <param name="Error">Null when bound; otherwise why not (as in <see cref="ListenerBindResult.Error"/>).</param>
/// <param name="ActiveConnections">Open client connections, including those whose route is not chosen yet.</param>
/// <param name="ActiveConnectionsByTenant">Open connections that took a route, by the route's tenant (tenants with none are left out).</param>
public sealed record ListenerStatus(
    ListenerEndpoint Endpoint,
    bool Bound,
    string? Error,
    int ActiveConnections,
    ImmutableDictionary<string, int> ActiveConnectionsByTenant);

/// <summary>
/// A point-in-time view of the data plane for status reports (<see cref="ProxyServer.GetStatus"/>): cheap to take
/// (reads counters; nothing on the connection path waits for it) and immutable.
/// </summary>
/// <param name="Generation">The plan generation of <see cref="Listeners"/> (0 before the first apply).</param>
/// <param name="Listeners">Every listener of the last applied plan, in plan order.</param>
/// <param name="ActiveConnections">Open connections by tenant on this server, draining listeners included.</param>
/// <param name="RefusedConnections">Connections refused because the tenant was at its concurrent-connection limit,
/// by tenant, since the server started.</param>
public sealed record ProxyStatus(
    long Generation,
    ImmutableArray<ListenerStatus> Listeners,
    ImmutableDictionary<string, int> ActiveConnections,
    ImmutableDictionary<string, long> RefusedConnections)
{
    /// <summary>Canary members this server has ejected now (docs/tcpmapping-semantics.md, "Outlier ejection").</summary>
    public ImmutableArray<MemberEjection> Ejections { get; init; } = [];

    internal static ProxyStatus Capture(ApplyResult? apply, Func<ListenerEndpoint, int> activeConnections, TenantConnectionLimiter tenants)
    {
        var byListener = tenants.ActiveByListener();
        var listeners = apply is null
            ? []
            : apply.Listeners.Select(l => new ListenerStatus(
                l.Endpoint,
                l.Bound,
                l.Error,
                l.Bound ? activeConnections(l.Endpoint) : 0,
                l.Bound ? byListener.GetValueOrDefault(l.Endpoint, ImmutableDictionary<string, int>.Empty) : ImmutableDictionary<string, int>.Empty))
                .ToImmutableArray();
        return new ProxyStatus(apply?.Generation ?? 0, listeners, tenants.Active(), tenants.Refused());
    }
}
