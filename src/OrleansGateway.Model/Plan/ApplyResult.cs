using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Model.Plan;

// What applying a plan to a data plane gave, listener by listener. The data plane produces it; the edge's status,
// `/status` and `/readyz` fold it into the resources' statuses (OrleansGateway.Reporting), so it is plan vocabulary
// rather than a data-plane type.

/// <summary>What happened to one listener of a plan when it was applied.</summary>
/// <param name="Error">Null when bound; otherwise what went wrong and what to do (e.g. "port 80 needs root").</param>
public sealed record ListenerBindResult(ListenerEndpoint Endpoint, bool Bound, string? Error, ImmutableArray<ResourceRef> Resources)
{
    /// <summary>Problems that do not stop the listener, e.g. a route whose TLS options cannot be built (its handshakes fail).</summary>
    public ImmutableArray<string> Warnings { get; init; } = [];
}

public sealed record ApplyResult(long Generation, ImmutableArray<ListenerBindResult> Listeners)
{
    public IEnumerable<ListenerBindResult> Failed => Listeners.Where(l => !l.Bound);
}
