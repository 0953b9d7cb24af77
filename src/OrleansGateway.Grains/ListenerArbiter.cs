using System.Collections.Immutable;
using System.Globalization;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

/// <summary>
/// The rules that let tenants share a listener, as pure functions (the listener grain only stores and publishes).
/// The earlier owner of a port, catch-all or SNI name is never displaced: a claim is checked against the routes
/// other tenants already hold, and only its non-overlapping routes are accepted.
/// <list type="bullet">
/// <item>A cleartext claim (the listener is not TLS-inspected) owns the whole port.</item>
/// <item>A host-less catch-all on a TLS-inspected listener is owned by one tenant.</item>
/// <item>Each SNI name or glob belongs to one tenant; two overlap when some name matches both
/// (<see cref="HostPattern.Overlaps"/> on canonical patterns: <c>*.example.com</c> covers <c>a.example.com</c> and
/// <c>*.a.example.com</c>, <c>*</c> covers everything, and <c>*.A.example.com.</c> is <c>*.a.example.com</c>).</item>
/// </list>
/// Messages never name another tenant's resources: they say what overlaps and what to change.
/// </summary>
internal static class ListenerArbiter
{
    /// <summary>The part of <paramref name="plan"/> that does not overlap <paramref name="others"/>; null when nothing is left.</summary>
    public static ListenerPlan? Arbitrate(ListenerPlan plan, IReadOnlyList<ListenerPlan> others, out ImmutableArray<RefusedMapping> refused)
    {
        var taken = new HostPatternSet();
        foreach (var route in others.SelectMany(o => o.SniRoutes))
        {
            taken.Add(route.Host);
        }

        return Arbitrate(plan, others, taken, out refused);
    }

    /// <param name="taken">The SNI patterns of <paramref name="others"/> (a listener keeps this set between claims).</param>
    public static ListenerPlan? Arbitrate(ListenerPlan plan, IReadOnlyList<ListenerPlan> others, HostPatternSet taken,
        out ImmutableArray<RefusedMapping> refused)
    {
        var refusals = ImmutableArray.CreateBuilder<RefusedMapping>();
        var endpoint = plan.Endpoint;
        ImmutableArray<SniRoute> acceptedSni;
        RoutePlan? acceptedCatchAll;

        if (!plan.TlsInspected)
        {
            var portTaken = others.Count > 0;
            acceptedSni = [];
            acceptedCatchAll = portTaken ? null : plan.CatchAll;
            if (portTaken)
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
                if (taken.Overlaps(route.Host))
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

    /// <summary>
    /// The listener every edge binds: the union of the tenants' accepted routes (<see cref="Keep"/>), assembled by
    /// <see cref="ListenerAssembly"/>. Claims come in first-claim order.
    /// </summary>
    public static ListenerPlan? Merge(IReadOnlyList<ListenerPlan> claimsInOrder)
    {
        var kept = Keep(claimsInOrder);
        return ListenerAssembly.Merge(kept
            .Select((plan, i) => plan is null ? null : new ListenerPart(i.ToString(CultureInfo.InvariantCulture), i, plan))
            .OfType<ListenerPart>());
    }

    /// <summary>
    /// What each claim serves (null: nothing), in the order given (first-claim order): the claim itself when nothing of
    /// it overlaps an earlier one, which is always the case for claims stored now.
    /// </summary>
    /// <remarks>
    /// Each claim is arbitrated again against the earlier ones. Claims stored now never conflict, but claims stored
    /// before host names were canonical can: a name stored as <c>shop.a.test.</c> beside another tenant's
    /// <c>*.a.test</c> reads back as <c>shop.a.test</c>, which the earlier tenant's glob covers. The earlier claim keeps
    /// the name, so such a state can never route one tenant's clients to another.
    /// </remarks>
    public static ListenerPlan?[] Keep(IReadOnlyList<ListenerPlan> claimsInOrder)
    {
        var result = new ListenerPlan?[claimsInOrder.Count];
        var accepted = new List<ListenerPlan>(claimsInOrder.Count);
        var taken = new HostPatternSet();
        for (var i = 0; i < claimsInOrder.Count; i++)
        {
            var claim = claimsInOrder[i];
            if (Arbitrate(claim, accepted, taken, out _) is not { } kept)
            {
                continue;
            }

            // The same content as the claim: keep the claim's object, so an unchanged part is recognised by reference.
            if (kept.SniRoutes.Length == claim.SniRoutes.Length && ReferenceEquals(kept.CatchAll, claim.CatchAll))
            {
                kept = claim;
            }

            result[i] = kept;
            accepted.Add(kept);
            foreach (var route in kept.SniRoutes)
            {
                taken.Add(route.Host);
            }
        }

        return result;
    }

    /// <summary>Every mapping of <paramref name="plan"/>, refused with <paramref name="message"/>.</summary>
    public static ImmutableArray<RefusedMapping> RefuseAll(ListenerPlan plan, string message)
    {
        var refusals = ImmutableArray.CreateBuilder<RefusedMapping>();
        foreach (var route in plan.SniRoutes)
        {
            Refuse(refusals, route.Route, message);
        }

        Refuse(refusals, plan.CatchAll, message);
        return refusals.ToImmutable();
    }

    private static void Refuse(ImmutableArray<RefusedMapping>.Builder refusals, RoutePlan? route, string message)
    {
        foreach (var upstream in route?.Upstreams ?? [])
        {
            refusals.Add(new RefusedMapping(upstream.Mapping, message));
        }
    }
}
