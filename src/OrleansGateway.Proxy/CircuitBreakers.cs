using System.Collections.Concurrent;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// Connection counts per upstream cluster (<see cref="UpstreamPlan.ClusterKey"/>), owned by the server so that they
/// survive plan swaps: connections of an old snapshot still count against the new one's thresholds.
/// </summary>
internal sealed class CircuitBreakers
{
    private readonly ConcurrentDictionary<string, ClusterCounters> _byKey = new(StringComparer.Ordinal);

    /// <summary>Looked up once per plan apply (not per connection).</summary>
    public ClusterCounters For(string clusterKey) => _byKey.GetOrAdd(clusterKey, static _ => new ClusterCounters());
}

/// <summary>Lock-free counters of one upstream cluster.</summary>
internal sealed class ClusterCounters
{
    private int _connections;
    private int _pending;

    /// <summary>Takes a connection slot and a pending (connect attempt) slot; false (nothing taken) when either is full.</summary>
    public bool TryAdmit(CircuitBreakerPlan limits)
    {
        if (Interlocked.Increment(ref _connections) > limits.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            return false;
        }

        if (Interlocked.Increment(ref _pending) > limits.MaxPendingRequests)
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Decrement(ref _connections);
            return false;
        }

        return true;
    }

    /// <summary>The connect attempt is over (connected or failed).</summary>
    public void ConnectDone() => Interlocked.Decrement(ref _pending);

    /// <summary>The upstream connection (or failed attempt) is gone.</summary>
    public void Release() => Interlocked.Decrement(ref _connections);
}
