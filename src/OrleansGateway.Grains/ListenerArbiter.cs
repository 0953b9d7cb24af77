using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

/// <summary>
/// The rules that let tenants share a listener, as pure functions (the listener grain only stores and publishes).
/// The earlier owner of a port, catch-all or SNI name is never displaced: a claim is checked against the routes
/// other tenants already hold, and only its non-overlapping routes are accepted.
/// <list type="bullet">
/// <item>A cleartext claim (the listener is not TLS-inspected) owns the whole port.</item>
/// <item>A host-less catch-all on a TLS-inspected listener is owned by one tenant.</item>
/// <item>Each SNI name or glob belongs to one tenant; two overlap when equal, or when one is a glob that covers the
/// other (<c>*.example.com</c> covers <c>a.example.com</c> and <c>*.a.example.com</c>; <c>*</c> covers everything).</item>
/// </list>
/// Messages never name another tenant's resources: they say what overlaps and what to change.
/// </summary>
internal static class ListenerArbiter
{
    /// <summary>The part of <paramref name="plan"/> that does not overlap <paramref name="others"/>; null when nothing is left.</summary>
    public static ListenerPlan? Arbitrate(ListenerPlan plan, IReadOnlyList<ListenerPlan> others, out ImmutableArray<RefusedMapping> refused)
    {
        var refusals = ImmutableArray.CreateBuilder<RefusedMapping>();
        var endpoint = plan.Endpoint;
        ImmutableArray<SniRoute> acceptedSni;
        RoutePlan? acceptedCatchAll;

        if (!plan.TlsInspected)
        {
            var taken = others.Count > 0;
            acceptedSni = [];
            acceptedCatchAll = taken ? null : plan.CatchAll;
            if (taken)
            {
                Refuse(refusals, plan.CatchAll, $"port {endpoint} is already used by another tenant, and a port without TLS " +
                    "routing (no mapping with a host) belongs to one tenant. Use another port.");
            }
        }
        else if (others.Any(o => !o.TlsInspected))
        {
            acceptedSni = [];
            acceptedCatchAll = null;
            const string why = "is routed without TLS by another tenant, so that tenant owns the whole port. Use another port.";
            foreach (var route in plan.SniRoutes)
            {
                Refuse(refusals, route.Route, $"port {endpoint} {why}");
            }

            Refuse(refusals, plan.CatchAll, $"port {endpoint} {why}");
        }
        else
        {
            var builder = ImmutableArray.CreateBuilder<SniRoute>();
            foreach (var route in plan.SniRoutes)
            {
                if (others.SelectMany(o => o.SniRoutes).Any(o => Overlaps(route.Host, o.Host)))
                {
                    Refuse(refusals, route.Route, $"host {route.Host} on {endpoint} overlaps a name another tenant already routes " +
                        "(the same name, or a glob that covers it or that it covers). Use a host name no other tenant routes.");
                }
                else
                {
                    builder.Add(route);
                }
            }

            acceptedSni = builder.ToImmutable();
            acceptedCatchAll = plan.CatchAll;
            if (plan.CatchAll is not null && others.Any(o => o.CatchAll is not null))
            {
                acceptedCatchAll = null;
                Refuse(refusals, plan.CatchAll, $"the catch-all of {endpoint} (a mapping without host) is already taken by another " +
                    "tenant. Give the mapping a host (SNI routing), or use another port.");
            }
        }

        refused = refusals.ToImmutable();
        return acceptedSni.IsEmpty && acceptedCatchAll is null
            ? null
            : plan with { SniRoutes = acceptedSni, CatchAll = acceptedCatchAll };
    }

    /// <summary>True when some SNI name could be routed by both patterns (hosts are lower-cased by the compiler).</summary>
    public static bool Overlaps(string a, string b) =>
        string.Equals(a, b, StringComparison.OrdinalIgnoreCase) || Covers(a, b) || Covers(b, a);

    private static bool Covers(string glob, string other)
    {
        if (glob == "*")
        {
            return true;
        }

        // "*.example.com" covers every name ending in ".example.com", several labels deep (as the data plane
        // matches), and so every glob "*.x.example.com" too.
        return glob.StartsWith("*.", StringComparison.Ordinal)
            && other.EndsWith(glob.AsSpan(1), StringComparison.OrdinalIgnoreCase)
            && other.Length > glob.Length - 1;
    }

    /// <summary>
    /// The listener every edge binds: the union of the tenants' accepted routes. Claims come in first-claim order;
    /// the earliest one names the listener (name, Listener resource, stats prefix). TLS is inspected when any claim
    /// inspects it. SNI routes are sorted as the compiler sorts them (exact, globs longest first, <c>*</c>).
    /// </summary>
    public static ListenerPlan? Merge(IReadOnlyList<ListenerPlan> claimsInOrder)
    {
        if (claimsInOrder.Count == 0)
        {
            return null;
        }

        var first = claimsInOrder[0];
        var routes = claimsInOrder
            .SelectMany(c => c.SniRoutes)
            .OrderBy(r => r.Kind)
            .ThenByDescending(r => r.Kind == HostPatternKind.Wildcard ? r.Host.Length : 0)
            .ThenBy(r => r.Host, StringComparer.Ordinal)
            .ToImmutableArray();
        return first with
        {
            TlsInspected = claimsInOrder.Any(c => c.TlsInspected),
            SniRoutes = routes,
            CatchAll = claimsInOrder.Select(c => c.CatchAll).FirstOrDefault(c => c is not null),
            Resources = [.. claimsInOrder.SelectMany(c => c.Resources).Distinct()],
        };
    }

    private static void Refuse(ImmutableArray<RefusedMapping>.Builder refusals, RoutePlan? route, string message)
    {
        foreach (var upstream in route?.Upstreams ?? [])
        {
            refusals.Add(new RefusedMapping(upstream.Mapping, message));
        }
    }
}
