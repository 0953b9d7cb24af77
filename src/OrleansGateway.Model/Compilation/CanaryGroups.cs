using System.Globalization;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Model.Compilation;

/// <summary>A canary group that survived its checks: its members (by namespace and name) with their shares set.</summary>
internal sealed record CanaryGroup(GroupKey Key, IReadOnlyList<MappingCandidate> Members)
{
    public MappingCandidate First => Members[0];
}

/// <summary>
/// Forms canary groups (same address, port and host) and applies their rules (docs/tcpmapping-semantics.md,
/// "Group consistency" and "Weights (canary groups)"): members must agree with the first by (namespace, name) on the
/// consistency keys, compared on effective values, symmetric; then the weights become shares. Linear in the number of
/// mappings.
/// </summary>
internal static class CanaryGroups
{
    /// <param name="refused">Receives each group refused because of its weights.</param>
    public static List<CanaryGroup> Build(IEnumerable<MappingCandidate> candidates, ICollection<RefusedGroup> refused)
    {
        // Candidates arrive in (namespace, name) order, so each group's list is in that order too.
        var byKey = new Dictionary<GroupKey, List<MappingCandidate>>();
        var order = new List<GroupKey>();
        foreach (var c in candidates)
        {
            if (!byKey.TryGetValue(c.Key, out var list))
            {
                byKey[c.Key] = list = [];
                order.Add(c.Key);
            }

            list.Add(c);
        }

        var groups = new List<CanaryGroup>();
        foreach (var key in order)
        {
            var members = Consistent(key, byKey[key]);
            if (ApplyWeights(key, members, refused) is { } shared)
            {
                groups.Add(new CanaryGroup(key, shared));
            }
        }

        return groups;
    }

    private static List<MappingCandidate> Consistent(GroupKey key, List<MappingCandidate> members)
    {
        var reference = members[0];
        var kept = new List<MappingCandidate> { reference };
        foreach (var member in members.Skip(1))
        {
            var diffs = member.Consistency.Differences(reference.Consistency).ToList();
            if (diffs.Count == 0)
            {
                kept.Add(member);
                continue;
            }

            var theirs = string.Join(" and ", diffs.Select(d => $"{d.Field} {d.Theirs}"));
            var mine = string.Join(" and ", diffs.Select(d => d.Mine));
            member.Entry.Discard(DiagnosticCodes.GroupConflict,
                $"its group ({key}) was started by {reference.Entry.Ref} with {theirs}; this one has {mine}. " +
                "Make them agree, or move one to another port or host.", "spec." + diffs[0].Field, reference.Entry.Ref);
        }

        return kept;
    }

    private static List<MappingCandidate>? ApplyWeights(GroupKey key, List<MappingCandidate> members, ICollection<RefusedGroup> refused)
    {
        var weights = members.Select(m => m.Mapping.Weight).ToList();
        var result = WeightCalculator.Compute(weights);
        if (result.Error is not null)
        {
            var listing = string.Join(", ", members.Select(m => $"{m.Entry.Ref} weight {Describe(m.Mapping.Weight)}"));
            var total = weights.Sum(w => w ?? 0).ToString(CultureInfo.InvariantCulture);
            var reason = $"the weights of its group ({key}) cannot be used: {result.Error} (members: {listing}; total {total}). " +
                "Give weights from 0 to 100 that add up to 100 at most; members without weight share the rest.";
            foreach (var m in members)
            {
                m.Entry.Discard(DiagnosticCodes.GroupWeights, reason, "spec.weight", members.FirstOrDefault(o => !ReferenceEquals(o, m))?.Entry.Ref);
            }

            refused.Add(new RefusedGroup(key.ToString(), [.. members.Select(m => m.Entry.Ref)], reason));
            return null;
        }

        if (result.Scaled)
        {
            var total = weights.Sum(w => w ?? 0);
            for (var i = 0; i < members.Count; i++)
            {
                members[i].Entry.Note(DiagnosticCodes.GroupWeightsScaled, FormattableString.Invariant(
                    $"the weights of its group ({key}) add up to {total}, not 100, and no member is without weight; they are scaled to percentages (this one gets {result.Shares[i]:0.##}%)."),
                    "spec.weight");
            }
        }

        return [.. members.Select((m, i) => m with { Upstream = m.Upstream with { Share = result.Shares[i] } })];
    }

    private static string Describe(int? weight) => weight?.ToString(CultureInfo.InvariantCulture) ?? "none";
}
