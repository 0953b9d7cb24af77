using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains;

/// <summary>
/// A weight &gt; 100 or a total &gt; 100 rejects the group's apply with a clear error and the last good routing stays
/// (docs/tcpmapping-semantics.md, "Weights"). Strict applies get this for free (the whole change is refused). For <see cref="ApplyMode.PerResource"/>
/// sources, which cannot be refused, a canary group whose new weights cannot be used keeps serving what it served:
/// each of its members with an Accepted stored version is compiled (and stored) as that version, with a message that
/// the new version was refused; a member without one (new, or not served before) stays Discarded.
/// </summary>
public static class LastGoodGroups
{
    /// <summary>In the status of a member kept at its last accepted version (reporters look for it).</summary>
    public const string KeptMarker = "its new version is refused and its last accepted version stays served";

    /// <summary>
    /// Compiles <paramref name="next"/>; when a canary group's weights are refused, compiles again with the last
    /// accepted versions of its members. Returns the compilation and the resources to store (the served versions).
    /// </summary>
    internal static (TenantCompilation Compiled, Dictionary<ResourceRef, (Resource Resource, string Source)> Stored) Compile(
        string tenant,
        Dictionary<ResourceRef, (Resource Resource, string Source)> next,
        ImmutableArray<TenantResource> previous,
        TenantQuota quota,
        ControlPlaneOptions options,
        ClusterEndpoints cluster,
        IReadOnlyCollection<int> listenerPorts,
        bool secretsExternal = false)
    {
        var first = TenantCompilation.Compile(tenant, [.. next.Values.Select(v => v.Resource)], quota, options, cluster, listenerPorts, secretsExternal);

        // Each member of a refused group, with the compiler's reason for its group.
        var refusals = first.RefusedGroups
            .SelectMany(g => g.Members.Where(next.ContainsKey).Select(member => (Member: member, g.Reason)))
            .ToDictionary(r => r.Member, r => r.Reason);
        if (refusals.Count == 0)
        {
            return (first, next);
        }

        var lastGood = previous
            .Where(r => r.Status.State == ResourceState.Accepted && r.Resource is TcpMapping && refusals.ContainsKey(r.Resource.Ref))
            .ToDictionary(r => r.Resource.Ref, r => r.Resource);
        if (lastGood.Count == 0)
        {
            return (first, next);
        }

        // Members with a last good version are served as it; the others (new in the group, or never served) are left
        // out, so that they cannot make the restored group's weights bad again. They stay Discarded as compiled first.
        var stored = new Dictionary<ResourceRef, (Resource Resource, string Source)>(next);
        var served = new List<Resource>();
        foreach (var (reference, entry) in next)
        {
            if (!refusals.ContainsKey(reference))
            {
                served.Add(entry.Resource);
            }
            else if (lastGood.TryGetValue(reference, out var good))
            {
                served.Add(good);
                stored[reference] = (good, entry.Source);
            }
        }

        var second = TenantCompilation.Compile(tenant, served, quota, options, cluster, listenerPorts, secretsExternal);
        var byRef = second.Statuses.ToDictionary(s => s.Resource);
        var diagnostics = second.Diagnostics.ToBuilder();
        var statuses = first.Statuses.Select(s =>
        {
            if (!lastGood.ContainsKey(s.Resource))
            {
                // Left out of the second compile (a refused member without a last good version): as compiled first.
                return refusals.ContainsKey(s.Resource) ? s : byRef[s.Resource];
            }

            var kept = byRef[s.Resource];
            if (kept.State != ResourceState.Accepted)
            {
                return kept;
            }

            var message = $"{s.Resource}: {KeptMarker}: {refusals[s.Resource]}";
            diagnostics.Add(new Diagnostic(Severity.Error, DiagnosticCodes.GroupWeights, message, s.Resource, s.Source, "spec.weight"));
            return kept with { Messages = [.. kept.Messages, message] };
        });

        // Refused members without a last good version keep the diagnostics of the first compile.
        diagnostics.AddRange(first.Diagnostics.Where(d => d.Resource is not null && refusals.ContainsKey(d.Resource) && !lastGood.ContainsKey(d.Resource)));
        return (new TenantCompilation(second.Plan, [.. statuses], diagnostics.ToImmutable(), first.RefusedGroups), stored);
    }
}
