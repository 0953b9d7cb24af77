using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Sources.Kubernetes.Source;

/// <summary>
/// Emissary's resources in a cluster as a source of the tenant grains (docs/kubernetes.md): on the silo that holds the
/// writer lease <c>kubernetes-source/&lt;ambassador id&gt;</c> (one writer at a time), a <see cref="SourceSession"/>
/// lists and watches the resources, applies each tenant's through a <see cref="TenantSource"/> named
/// <see cref="Name"/>, and writes the statuses back. Other silos wait for the lease.
/// </summary>
public sealed class KubernetesSource(
    KubernetesOptions options,
    IKubernetes client,
    IGrainFactory grains,
    SingleWriter writer,
    KubernetesHealth health,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    /// <summary>The <see cref="Grains.Abstractions.ApplyRequest.Source"/> of this source: it prunes only what it applied itself.</summary>
    public const string Name = "kubernetes";

    public static string Job(string ambassadorId) => $"kubernetes-source/{ambassadorId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting (Kestrel answers /healthz) before the first grain call.
        await Task.Yield();
        await writer.RunAsync(Job(options.AmbassadorId), async cancellationToken =>
        {
            var session = new SourceSession(options, client, grains, health, time, writer.Holder, loggers);
            await session.RunAsync(cancellationToken);
        }, stoppingToken);
    }
}
