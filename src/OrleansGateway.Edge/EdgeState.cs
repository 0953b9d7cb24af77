using OrleansGateway.Model.Plan;

namespace OrleansGateway.Edge;

/// <summary>What the data plane of this edge serves: one snapshot of the grains' routes and what binding it gave.</summary>
public sealed record EdgeServing(EdgeSnapshot Snapshot, ApplyResult Apply, DateTimeOffset AppliedAt)
{
    public bool AllBound => !Apply.Failed.Any();
}

/// <summary>What this silo's edge serves, published whole so that readers (<c>/readyz</c>, <c>/status</c>) never see half of an update.</summary>
public sealed class EdgeState
{
    private volatile EdgeServing? _edge;
    private volatile EdgeRouteCache? _cache;
    private TaskCompletionSource _edgeChanged = NewSignal();

    /// <summary>Null until the edge applied its first snapshot (always null on a core silo).</summary>
    public EdgeServing? Edge => _edge;

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

    public void Attach(EdgeRouteCache cache) => _cache = cache;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
