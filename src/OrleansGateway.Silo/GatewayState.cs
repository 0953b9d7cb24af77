using System.Collections.Immutable;
using OrleansGateway.Model;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>One applied configuration: what was evaluated, what the data plane bound, and the resulting statuses.</summary>
internal sealed record GatewaySnapshot(ConfigEvaluation Evaluation, ApplyResult Apply, ImmutableArray<ResourceStatus> Statuses)
{
    public bool AllBound => !Apply.Failed.Any();

    public StatusReport ToReport() => GatewayReport.ForStatus(Apply.Generation, Evaluation, Statuses, Apply);
}

/// <summary>The last applied snapshot, published whole so that readers never see half of a reload.</summary>
internal sealed class GatewayState
{
    private volatile GatewaySnapshot? _current;

    /// <summary>Null until the first apply has finished.</summary>
    public GatewaySnapshot? Current => _current;

    public void Publish(GatewaySnapshot snapshot) => _current = snapshot;
}
