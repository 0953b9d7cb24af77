using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Sources;

/// <summary>
/// Which resource statuses changed (state or messages) since a source last saw its tenant's statuses, so that a source
/// reports each change once instead of on every apply: the config directory logs a Discarded resource once per change
/// of its reasons; a source that writes statuses back (Kubernetes) writes only what changed. Not thread-safe: a source
/// applies from one loop.
/// </summary>
public sealed class StatusChanges
{
    private readonly Dictionary<string, Dictionary<ResourceRef, (ResourceState State, string Messages)>> _seen = new(StringComparer.Ordinal);

    /// <summary>The statuses of <paramref name="statuses"/> that differ from the last ones seen for <paramref name="tenant"/>; they become the last seen.</summary>
    public ImmutableArray<ResourceStatus> Update(string tenant, IEnumerable<ResourceStatus> statuses)
    {
        var before = _seen.GetValueOrDefault(tenant) ?? [];
        var now = new Dictionary<ResourceRef, (ResourceState, string)>();
        var changed = ImmutableArray.CreateBuilder<ResourceStatus>();
        foreach (var status in statuses)
        {
            // A resource has one status; should one come twice, the first counts.
            var seen = (status.State, string.Join("; ", status.Messages));
            if (now.TryAdd(status.Resource, seen) && (!before.TryGetValue(status.Resource, out var last) || last != seen))
            {
                changed.Add(status);
            }
        }

        _seen[tenant] = now;
        return changed.ToImmutable();
    }
}
