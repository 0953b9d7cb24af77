using System.Collections.Immutable;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Emissary's cluster identity (docs/tcpmapping-semantics.md), written readably: cluster_tag, service with scheme, originating
/// TLSContext, mapping namespace and breaker thresholds. Mappings with the same key share circuit-breaker counts.
/// </summary>
internal static class ClusterKeys
{
    public static string For(TcpMapping m, string service, ValidTlsContext? context, ImmutableArray<CircuitBreakerSpec>? spec,
        CircuitBreakerPlan breakers, bool originate)
    {
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(m.ClusterTag))
        {
            parts.Add("tag:" + m.ClusterTag);
        }

        parts.Add(service);
        if (originate)
        {
            parts.Add(context is null ? "otls" : $"otls:{context.Resource.Name}.{context.Resource.Namespace}");
        }

        parts.Add("ns:" + m.Namespace);
        if (spec is { IsEmpty: false })
        {
            parts.Add(FormattableString.Invariant($"cb:c{breakers.MaxConnections}/p{breakers.MaxPendingRequests}/r{breakers.MaxRequests}/t{breakers.MaxRetries}"));
        }

        return string.Join("|", parts);
    }
}
