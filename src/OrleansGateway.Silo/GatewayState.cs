using System.Collections.Immutable;
using OrleansGateway.Edge;
using OrleansGateway.Grains;
using OrleansGateway.Model;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>What the data plane of this edge serves: one snapshot of the grains' routes and what binding it gave.</summary>
internal sealed record EdgeServing(EdgeSnapshot Snapshot, ApplyResult Apply, DateTimeOffset AppliedAt)
{
    public bool AllBound => !Apply.Failed.Any();
}

/// <summary>One tenant of the config directory: its files evaluated offline (as <c>ogw check</c> does) and the grain's answer.</summary>
internal sealed record ConfigTenant(string Tenant, ConfigEvaluation Local, ApplyOutcome Outcome);

/// <summary>The last successful apply of the config directory.</summary>
/// <param name="DirectoryVersion">The directory grain's version right after it: an edge serving this version or a later one serves it.</param>
internal sealed record ConfigApplied(ImmutableArray<ConfigTenant> Tenants, long DirectoryVersion);

/// <summary>The latest of each part, each published whole so that readers never see half of an update.</summary>
internal sealed class GatewayState
{
    private volatile EdgeServing? _edge;
    private volatile ConfigApplied? _config;
    private volatile EdgeRouteCache? _cache;
    private TaskCompletionSource _edgeChanged = NewSignal();

    /// <summary>Null until the edge applied its first snapshot (always null on a core silo).</summary>
    public EdgeServing? Edge => _edge;

    /// <summary>Null until the config directory was applied once (always null without one).</summary>
    public ConfigApplied? Config => _config;

    /// <summary>The edge's route cache, for its connection state; null on a core silo.</summary>
    public EdgeRouteCache? Cache => _cache;

    public void Publish(EdgeServing edge)
    {
        _edge = edge;
        Interlocked.Exchange(ref _edgeChanged, NewSignal()).TrySetResult();
    }

    /// <summary>The edge's state once it serves <paramref name="directoryVersion"/> or later; null when that takes longer than <paramref name="timeout"/>.</summary>
    public async Task<EdgeServing?> WaitForEdgeAsync(long directoryVersion, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var changed = Volatile.Read(ref _edgeChanged).Task;
            if (_edge is { } edge && edge.Snapshot.DirectoryVersion >= directoryVersion)
            {
                return edge;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }

    public void Publish(ConfigApplied config) => _config = config;

    public void Attach(EdgeRouteCache cache) => _cache = cache;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
