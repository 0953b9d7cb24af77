using System.Collections.Immutable;
using System.Runtime.InteropServices;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// The listener every edge binds, assembled from the tenants' parts; the one home of that rule (the listener grain's
/// <see cref="IListenerGrain.GetSliceAsync"/> and every edge use it). The earliest part (first-claim order) names the
/// listener (name, Listener resource, stats prefix, PROXY protocol); TLS is inspected when any part inspects it; the
/// catch-all is the earliest part's that has one; SNI routes are in <see cref="HostPattern.SniOrder"/>, as the
/// compiler sorts them; resources are every part's, each once, in part order. The arbiter keeps parts apart (no two
/// parts route an overlapping name), so assembling never decides which tenant gets a name.
/// </summary>
/// <remarks>
/// Immutable. <see cref="With"/> costs what changed: the changed tenants' old routes are found in the sorted routes by
/// binary search and the new ones inserted the same way; the other routes are copied as they are, never compared or
/// sorted again. What is left per change is linear and cheap: one copy of the route array and one pass over the parts
/// (a few thousand at most) for the listener-wide settings.
/// </remarks>
public sealed class ListenerAssembly
{
    private static readonly IComparer<SniRoute> RouteOrder = Comparer<SniRoute>.Create(static (a, b) => HostPattern.SniOrder.Compare(a.Host, b.Host));

    private ListenerAssembly(ImmutableDictionary<string, ListenerPart> parts, ImmutableArray<SniRoute> routes)
    {
        Parts = parts;
        Routes = routes;
        Plan = Assemble(parts.Values, routes);
    }

    public static ListenerAssembly Empty { get; } = new(ImmutableDictionary.Create<string, ListenerPart>(StringComparer.Ordinal), []);

    /// <summary>Each tenant's part, by tenant.</summary>
    public ImmutableDictionary<string, ListenerPart> Parts { get; }

    /// <summary>Every part's SNI routes, in <see cref="HostPattern.SniOrder"/>.</summary>
    public ImmutableArray<SniRoute> Routes { get; }

    /// <summary>The listener to bind; null when no part is left (the edge unbinds it).</summary>
    public ListenerPlan? Plan { get; }

    /// <summary>The listener of <paramref name="parts"/> (any order).</summary>
    public static ListenerPlan? Merge(IEnumerable<ListenerPart> parts) => Empty.With(parts, []).Plan;

    /// <summary>
    /// This assembly with the parts of <paramref name="changed"/> in place of those tenants' parts and the tenants of
    /// <paramref name="removed"/> gone.
    /// </summary>
    public ListenerAssembly With(IEnumerable<ListenerPart> changed, IEnumerable<string> removed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        ArgumentNullException.ThrowIfNull(removed);
        var parts = Parts.ToBuilder();
        var gone = new List<SniRoute>();
        var added = new List<SniRoute>();
        foreach (var tenant in removed)
        {
            if (parts.TryGetValue(tenant, out var old))
            {
                gone.AddRange(old.Plan.SniRoutes);
                parts.Remove(tenant);
            }
        }

        // In first-claim order, and sorted stably: routes of one pattern (a plan stored by an old build) keep their plan order.
        foreach (var part in changed.OrderBy(p => p.Sequence))
        {
            if (parts.TryGetValue(part.Tenant, out var old))
            {
                gone.AddRange(old.Plan.SniRoutes);
            }

            parts[part.Tenant] = part;
            added.AddRange(part.Plan.SniRoutes);
        }

        return new ListenerAssembly(parts.ToImmutable(), Splice(Routes, gone, [.. added.OrderBy(r => r.Host, HostPattern.SniOrder)]));
    }

    /// <summary>The union of <paramref name="parts"/> over the already sorted <paramref name="routes"/>.</summary>
    private static ListenerPlan? Assemble(IEnumerable<ListenerPart> parts, ImmutableArray<SniRoute> routes)
    {
        var ordered = parts.OrderBy(p => p.Sequence).ToList();
        if (ordered.Count == 0)
        {
            return null;
        }

        return ordered[0].Plan with
        {
            TlsInspected = ordered.Any(p => p.Plan.TlsInspected),
            SniRoutes = routes,
            CatchAll = ordered.Select(p => p.Plan.CatchAll).FirstOrDefault(c => c is not null),
            Resources = [.. ordered.SelectMany(p => p.Plan.Resources).Distinct()],
        };
    }

    /// <summary>
    /// <paramref name="sorted"/> without the route objects of <paramref name="gone"/> and with <paramref name="added"/>
    /// (sorted) in their places: O(changed × log routes) comparisons and one copy of the array.
    /// </summary>
    private static ImmutableArray<SniRoute> Splice(ImmutableArray<SniRoute> sorted, List<SniRoute> gone, List<SniRoute> added)
    {
        if (gone.Count == 0 && added.Count == 0)
        {
            return sorted;
        }

        var drop = new SortedSet<int>();
        foreach (var route in gone)
        {
            var at = sorted.BinarySearch(route, RouteOrder);
            if (at < 0 || !ReferenceEquals(sorted[at], route))
            {
                // Two routes with one pattern (a tenant's plan stored by an old build): find the object itself.
                at = sorted.IndexOf(route, ReferenceEqualityComparer.Instance);
            }

            if (at >= 0)
            {
                drop.Add(at);
            }
        }

        var source = ImmutableCollectionsMarshal.AsArray(sorted)!;
        var drops = drop.ToArray();
        var result = new SniRoute[source.Length - drops.Length + added.Count];
        var (from, to, next) = (0, 0, 0);
        for (var i = 0; i <= added.Count; i++)
        {
            // Copy source[from..end) to the result, leaving out the dropped indexes, then the added route.
            var end = source.Length;
            if (i < added.Count)
            {
                var at = sorted.BinarySearch(added[i], RouteOrder);
                end = at < 0 ? ~at : at;
            }

            while (from < end)
            {
                var stop = next < drops.Length ? Math.Min(end, drops[next]) : end;
                Array.Copy(source, from, result, to, stop - from);
                to += stop - from;
                from = stop;
                if (next < drops.Length && from == drops[next])
                {
                    from++;
                    next++;
                }
            }

            if (i < added.Count)
            {
                result[to++] = added[i];
            }
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(result);
    }
}
