using System.Collections.Immutable;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// <c>circuit_breakers</c> (docs/tcpmapping-semantics.md, row 13): each entry's priority must be <c>default</c> or <c>high</c>
/// (case-insensitive, unset = default). tcp_proxy only ever uses the DEFAULT priority, so only that entry's
/// thresholds matter; unset thresholds are Envoy's defaults.
/// </summary>
internal static class CircuitBreakerRules
{
    /// <summary>Describes the first invalid entry, or null when the list is valid (or absent).</summary>
    public static string? FindInvalid(ImmutableArray<CircuitBreakerSpec>? breakers)
    {
        if (breakers is not { } list)
        {
            return null;
        }

        for (var i = 0; i < list.Length; i++)
        {
            var b = list[i];
            if (b.Priority is { } p && !IsDefault(p) && !IsHigh(p))
            {
                return $"entry {i} has priority '{p}'; use 'default' or 'high'";
            }

            foreach (var (name, value) in Thresholds(b))
            {
                if (value is < 0)
                {
                    return $"entry {i} has {name} {value}; thresholds must be 0 or more";
                }
            }
        }

        return null;
    }

    /// <summary>The DEFAULT-priority thresholds (Envoy's defaults where unset), and whether a <c>high</c> entry exists.</summary>
    public static (CircuitBreakerPlan Plan, bool HasHigh) Effective(ImmutableArray<CircuitBreakerSpec>? breakers)
    {
        if (breakers is not { } list)
        {
            return (CircuitBreakerPlan.Default, false);
        }

        var d = CircuitBreakerPlan.Default;

        // Envoy uses the first thresholds entry of a priority when several are given.
        var entry = list.FirstOrDefault(b => b.Priority is null || IsDefault(b.Priority));
        var plan = entry is null
            ? d
            : new CircuitBreakerPlan(
                entry.MaxConnections ?? d.MaxConnections,
                entry.MaxPendingRequests ?? d.MaxPendingRequests,
                entry.MaxRequests ?? d.MaxRequests,
                entry.MaxRetries ?? d.MaxRetries);
        return (plan, list.Any(b => b.Priority is { } p && IsHigh(p)));
    }

    private static bool IsDefault(string p) => string.Equals(p, "default", StringComparison.OrdinalIgnoreCase);

    private static bool IsHigh(string p) => string.Equals(p, "high", StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<(string, int?)> Thresholds(CircuitBreakerSpec b) =>
    [
        ("max_connections", b.MaxConnections),
        ("max_pending_requests", b.MaxPendingRequests),
        ("max_requests", b.MaxRequests),
        ("max_retries", b.MaxRetries),
    ];
}
