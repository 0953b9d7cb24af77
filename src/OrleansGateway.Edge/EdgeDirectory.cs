using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Networks;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Edge;

/// <summary>
/// An edge's immutable copy of its directory, brought up to date by the directory's changes
/// (<see cref="IListenerDirectoryGrain.GetChangesAsync"/>): a change costs the changed listeners and tenants, not
/// every tenant. <see cref="With"/> returns a new copy, so the cache keeps the old one until the data plane took the
/// snapshot built from the new one, and asks again from the old version after a failure.
/// </summary>
/// <remarks>
/// A changed tenant arrives whole (certificates, connection limit, allowed upstreams), never as a difference of its
/// own, and the edge asks with the last version it applied: a missed notification, a failed rebuild or a lost answer
/// cannot leave a tenant's limit or upstream rules behind (docs/control-plane.md, "Edges: observers and polling").
/// </remarks>
internal sealed class EdgeDirectory
{
    /// <summary>Before the first answer: its epoch matches no directory activation, so the first answer is everything.</summary>
    public static readonly EdgeDirectory Empty = new(
        Guid.Empty,
        -1,
        ImmutableDictionary<ListenerKey, long>.Empty,
        ImmutableDictionary.Create<string, DirectoryTenant>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, int>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, UpstreamPolicy>(StringComparer.Ordinal));

    private DirectoryView? _view;

    private EdgeDirectory(
        Guid epoch,
        long version,
        ImmutableDictionary<ListenerKey, long> listeners,
        ImmutableDictionary<string, DirectoryTenant> tenants,
        ImmutableDictionary<string, int> connectionLimits,
        ImmutableDictionary<string, UpstreamPolicy> upstreamPolicies)
    {
        Epoch = epoch;
        Version = version;
        Listeners = listeners;
        Tenants = tenants;
        ConnectionLimits = connectionLimits;
        UpstreamPolicies = upstreamPolicies;
    }

    public Guid Epoch { get; }

    public long Version { get; }

    /// <summary>Every listener with routes and the version of its slice.</summary>
    public ImmutableDictionary<ListenerKey, long> Listeners { get; }

    /// <summary>Every tenant with an entry (certificates, a limit or upstream rules).</summary>
    public ImmutableDictionary<string, DirectoryTenant> Tenants { get; }

    /// <summary>For <see cref="GatewayPlan.ConnectionLimits"/>: tenants with a limit.</summary>
    public ImmutableDictionary<string, int> ConnectionLimits { get; }

    /// <summary>For <see cref="GatewayPlan.UpstreamPolicies"/>: tenants with upstream rules, each parsed once when it changed.</summary>
    public ImmutableDictionary<string, UpstreamPolicy> UpstreamPolicies { get; }

    /// <summary>The listeners and certificates as a view (built once per copy, unsorted).</summary>
    public DirectoryView View => _view ??= new DirectoryView(
        Version,
        [.. Listeners.Select(l => new DirectoryListener(l.Key, l.Value))],
        [.. Tenants.Values.SelectMany(t => t.Certificates)]);

    /// <summary>This copy with <paramref name="changes"/> applied (everything replaced when they are <see cref="DirectoryChanges.Full"/>).</summary>
    public EdgeDirectory With(DirectoryChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var start = changes.Full ? Empty : this;
        var listeners = start.Listeners.RemoveRange(changes.RemovedListeners)
            .SetItems(changes.Listeners.Select(l => KeyValuePair.Create(l.Key, l.Version)));
        var tenants = start.Tenants.ToBuilder();
        var limits = start.ConnectionLimits.ToBuilder();
        var policies = start.UpstreamPolicies.ToBuilder();
        foreach (var tenant in changes.Tenants)
        {
            if (tenant.IsEmpty)
            {
                tenants.Remove(tenant.Tenant);
            }
            else
            {
                tenants[tenant.Tenant] = tenant;
            }

            if (tenant.ConnectionLimit is { } limit)
            {
                limits[tenant.Tenant] = limit;
            }
            else
            {
                limits.Remove(tenant.Tenant);
            }

            if (tenant.AllowedUpstreams is not null)
            {
                policies[tenant.Tenant] = UpstreamPolicy.FromStored(tenant.AllowedUpstreams);
            }
            else
            {
                policies.Remove(tenant.Tenant);
            }
        }

        return new EdgeDirectory(changes.Epoch, changes.Version, listeners, tenants.ToImmutable(), limits.ToImmutable(), policies.ToImmutable());
    }
}
