using System.Threading.Channels;
using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Sources.Kubernetes.Watching;

namespace OrleansGateway.Sources.Kubernetes.Endpoints;

/// <summary>
/// Keeps <see cref="KubernetesEndpoints"/> equal to the cluster's Services and EndpointSlices on every silo that
/// serves traffic: each edge watches them itself (no writer, nothing shared), so an endpoint change reaches new
/// dials without passing through the tenant grains or the route snapshot, and never touches an open connection.
/// </summary>
public sealed class KubernetesEndpointFeed(
    KubernetesOptions options,
    IKubernetes client,
    KubernetesEndpoints endpoints,
    KubernetesHealth health,
    TimeProvider time,
    ILogger<KubernetesEndpointFeed> logger) : BackgroundService
{
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IEnumerable<string?> scopes = options.Namespaces.IsEmpty ? [null] : [.. options.Namespaces];
        var services = scopes.Select(ns => (Scope: ns, Cache: new ObjectCache())).ToList();
        var slices = scopes.Select(ns => (Scope: ns, Cache: new ObjectCache())).ToList();
        void Signal() => _changes.Writer.TryWrite(true);
        var watches = services.Select(s => new ListWatch(client, WatchedKind.Services, s.Scope, s.Cache, Signal, health, time, logger))
            .Concat(slices.Select(s => new ListWatch(client, WatchedKind.EndpointSlices, s.Scope, s.Cache, Signal, health, time, logger)))
            .Select(w => Task.Run(() => w.RunAsync(stoppingToken), CancellationToken.None))
            .ToList();
        try
        {
            await foreach (var _ in _changes.Reader.ReadAllAsync(stoppingToken))
            {
                if (services.All(s => s.Cache.Synced) && slices.All(s => s.Cache.Synced))
                {
                    endpoints.Update(services.SelectMany(s => s.Cache.Items()), slices.SelectMany(s => s.Cache.Items()));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await Task.WhenAll(watches);
        }
    }
}
