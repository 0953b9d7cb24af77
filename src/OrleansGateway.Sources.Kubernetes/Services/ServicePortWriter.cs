using System.Collections.Immutable;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Sources.Kubernetes.Services;

/// <summary>
/// <c>--kubernetes-service NAMESPACE/NAME</c>: keeps that Service's <c>spec.ports</c> exactly the listener ports this
/// edge has bound (docs/kubernetes.md, "The gateway's Service"), so a tenant's new port is reachable through the load
/// balancer without a redeploy and a released one disappears. Each port is <c>tcp-&lt;port&gt;</c>, protocol TCP,
/// <c>port</c> = <c>targetPort</c>; the patch is a merge patch, which replaces the list (a strategic merge or apply patch
/// would keep ports that are gone). With no listener bound the ports are left as they are (a Service needs one).
/// One edge writes at a time (writer lease <c>kubernetes-service/&lt;namespace&gt;/&lt;name&gt;</c>); the writer
/// compares with the Service every <see cref="Recheck"/>, so a port list someone else changed is put right again.
/// </summary>
public sealed partial class ServicePortWriter(
    ServiceRef service,
    Func<IReadOnlySet<int>?> boundPorts,
    IKubernetes client,
    SingleWriter writer,
    KubernetesHealth health,
    TimeProvider time,
    ILogger<ServicePortWriter> logger) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    public static string Job(ServiceRef service) => $"kubernetes-service/{service.Namespace}/{service.Name}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        await writer.RunAsync(Job(service), WriteWhileHeldAsync, stoppingToken);
    }

    private async Task WriteWhileHeldAsync(CancellationToken cancellationToken)
    {
        ImmutableSortedSet<int>? written = null;
        var checkedAt = 0L;
        var failing = false;
        while (true)
        {
            var ports = boundPorts()?.ToImmutableSortedSet();
            if (ports is { Count: > 0 } && (written is null || !ports.SetEquals(written) || time.GetElapsedTime(checkedAt) >= Recheck))
            {
                try
                {
                    var current = await client.CoreV1.ReadNamespacedServiceAsync(service.Name, service.Namespace, cancellationToken: cancellationToken);
                    if (!Matches(current, ports))
                    {
                        await client.CoreV1.PatchNamespacedServiceAsync(
                            new V1Patch(PatchBody(ports), V1Patch.PatchType.MergePatch), service.Name, service.Namespace, cancellationToken: cancellationToken);
                        health.ServicePatched();
                        LogPatched(logger, service.ToString(), string.Join(", ", ports));
                    }

                    written = ports;
                    checkedAt = time.GetTimestamp();
                    failing = false;
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    if (!failing)
                    {
                        failing = true;
                        LogFailed(logger, service.ToString(), e.Message);
                    }

                    await Task.Delay(RetryAfter, time, cancellationToken);
                    continue;
                }
            }

            await Task.Delay(Poll, time, cancellationToken);
        }
    }

    /// <summary>Whether the Service's ports are exactly these, as this writer writes them.</summary>
    private static bool Matches(V1Service current, ImmutableSortedSet<int> ports)
    {
        var present = current.Spec?.Ports ?? [];
        return present.Count == ports.Count && present.All(p =>
            ports.Contains(p.Port) && p.Name == Name(p.Port) && (p.Protocol ?? "TCP") == "TCP"
            && p.TargetPort is { } target && target.Value == p.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string PatchBody(IEnumerable<int> ports)
    {
        var list = new JsonArray();
        foreach (var port in ports)
        {
            list.Add(new JsonObject { ["name"] = Name(port), ["protocol"] = "TCP", ["port"] = port, ["targetPort"] = port });
        }

        return new JsonObject { ["spec"] = new JsonObject { ["ports"] = list } }.ToJsonString();
    }

    private static string Name(int port) => $"tcp-{port}";

    [LoggerMessage(1, LogLevel.Information, "Service {Service}: ports set to the bound listener ports {Ports}")]
    private static partial void LogPatched(ILogger logger, string service, string ports);

    [LoggerMessage(2, LogLevel.Warning, "Service {Service}: its ports cannot be read or patched ({Problem}); retrying")]
    private static partial void LogFailed(ILogger logger, string service, string problem);
}
