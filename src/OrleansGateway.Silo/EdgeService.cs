using OrleansGateway.Edge;
using OrleansGateway.Proxy;

namespace OrleansGateway.Silo;

/// <summary>
/// The edge: an <see cref="EdgeRouteCache"/> on this silo feeds every new snapshot of the grains' routes to the data
/// plane. The cache runs beside the proxy, so no connection ever waits on a grain call; when the cluster is gone the
/// proxy keeps the last snapshot.
/// </summary>
internal sealed class EdgeService(
    GatewaySettings settings,
    IGrainFactory grains,
    ProxyServer proxy,
    GatewayState state,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService
{
    private static readonly TimeSpan UnsubscribeBound = TimeSpan.FromSeconds(3);

    private readonly ILogger _logger = loggers.CreateLogger<EdgeService>();
    private EdgeRouteCache? _cache;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _cache = new EdgeRouteCache(grains, settings.AmbassadorId, ApplyAsync, loggers.CreateLogger<EdgeRouteCache>(), time);
        state.Attach(_cache);
        _cache.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_cache is not null)
        {
            // Unsubscribing needs the directory grain; without a cluster that call would hold shutdown for the
            // messaging timeout (30 s). The subscription expires on its own.
            try
            {
                await _cache.DisposeAsync().AsTask().WaitAsync(UnsubscribeBound, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                Log.EdgeStopSlow(_logger, UnsubscribeBound);
            }
        }
    }

    private async Task ApplyAsync(EdgeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var apply = await proxy.ApplyAsync(snapshot.Plan, snapshot.Certificates, cancellationToken);
        state.Publish(new EdgeServing(snapshot, apply, time.GetUtcNow()));
        Log.EdgeApplied(_logger, apply.Generation, snapshot.DirectoryVersion, apply.Listeners.Length, apply.Failed.Count());
        foreach (var failed in apply.Failed)
        {
            Log.BindFailed(_logger, failed.Endpoint.ToString(), failed.Error);
        }

        foreach (var problem in snapshot.CertificateProblems)
        {
            Log.CertificateProblem(_logger, problem.Message);
        }
    }
}
