using System.Collections.Immutable;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>One listener as one edge serves it.</summary>
/// <param name="ActiveConnections">Open client connections on this listener, by tenant (the tenant of the route taken).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.EdgeListenerState")]
public sealed record EdgeListenerState(
    [property: Id(0)] ListenerEndpoint Endpoint,
    [property: Id(1)] bool Bound,
    [property: Id(2)] string? Error,
    [property: Id(3)] ImmutableDictionary<string, int> ActiveConnections);

/// <summary>A canary member one edge has ejected now (docs/tcpmapping-semantics.md, "Outlier ejection").</summary>
/// <param name="Host">The group's SNI host; null for the catch-all.</param>
/// <param name="Mapping"><c>namespace/name</c> of the member's TCPMapping.</param>
/// <param name="Ejection">The member's ejection count since it last connected.</param>
/// <param name="Until">When the ejection ends; null: until the member's health check passes.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.EdgeEjection")]
public sealed record EdgeEjection(
    [property: Id(0)] ListenerEndpoint Endpoint,
    [property: Id(1)] string? Host,
    [property: Id(2)] string Tenant,
    [property: Id(3)] string Mapping,
    [property: Id(4)] string Service,
    [property: Id(5)] string Reason,
    [property: Id(6)] int Ejection,
    [property: Id(7)] DateTimeOffset Since,
    [property: Id(8)] DateTimeOffset? Until);

/// <summary>What one edge silo reports about its data plane, periodically and after each change.</summary>
/// <param name="Edge">The edge's name (its silo address).</param>
/// <param name="RefusedConnections">Connections refused because the tenant was at its concurrent-connection quota,
/// by tenant, since the edge started.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.EdgeReport")]
public sealed record EdgeReport(
    [property: Id(0)] string Edge,
    [property: Id(1)] DateTimeOffset ReportedAt,
    [property: Id(2)] ImmutableArray<EdgeListenerState> Listeners,
    [property: Id(3)] ImmutableDictionary<string, long> RefusedConnections)
{
    // A field, so that a report from an edge of an older build (which sends none) reads as none rather than as a default array.
    [Id(4)]
    private readonly ImmutableArray<EdgeEjection> _ejections;

    /// <summary>The canary members this edge has ejected now; outlier ejection is per edge, each judges its own connects.</summary>
    public ImmutableArray<EdgeEjection> Ejections
    {
        get => _ejections.IsDefault ? [] : _ejections;
        init => _ejections = value;
    }
}

/// <summary>
/// The latest report of every live edge of one ambassador id (key). Not persisted: edges report again after a
/// restart, and a report older than a few report intervals counts as a gone edge and is dropped.
/// </summary>
[Alias("OrleansGateway.IEdgeStatusGrain")]
public interface IEdgeStatusGrain : IGrainWithStringKey
{
    [Alias("Report")]
    Task ReportAsync(EdgeReport report);

    /// <summary>The reports of edges that reported recently, by edge name.</summary>
    [Alias("Get")]
    Task<ImmutableArray<EdgeReport>> GetAsync();
}

/// <summary>The timing of edge reports, shared by the edges (sending) and <see cref="IEdgeStatusGrain"/> (expiring).</summary>
public static class EdgeReporting
{
    /// <summary>How often an edge reports (besides right after each apply).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A report not renewed for this long is an edge that is gone (stopped, crashed or cut off). Five intervals, so
    /// that a slow cluster or a long GC pause does not make a live edge flicker out of the status.
    /// </summary>
    public static readonly TimeSpan Expiry = Interval * 5;

    /// <summary>
    /// Runs <paramref name="tick"/> now and then every <paramref name="interval"/> until <paramref name="cancellationToken"/>
    /// is cancelled: the loop of the silos' reporters and the edges' readers of these grains. A failed tick goes to
    /// <paramref name="failed"/> and the next one follows (the cluster may be gone for a while); cancellation ends the
    /// loop without an exception.
    /// </summary>
    public static async Task RepeatAsync(
        Func<CancellationToken, Task> tick, TimeSpan interval, TimeProvider time, Action<Exception> failed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tick);
        ArgumentNullException.ThrowIfNull(failed);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await tick(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failed(e);
            }

            try
            {
                await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
