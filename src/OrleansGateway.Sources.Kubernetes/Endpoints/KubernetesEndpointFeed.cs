using System.Collections.Concurrent;
using System.Threading.Channels;
using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Sources.Kubernetes.Watching;

namespace OrleansGateway.Sources.Kubernetes.Endpoints;

/// <summary>
/// Keeps <see cref="KubernetesEndpoints"/> equal to the cluster's Services and EndpointSlices on every silo that
/// serves traffic: each edge watches them itself (no writer, nothing shared), so an endpoint change reaches new
/// dials without passing through the tenant grains or the route snapshot, and never touches an open connection. A
/// change rebuilds only the entries of the Services it touched (a slice moved to another Service touches both).
/// </summary>
public sealed partial class KubernetesEndpointFeed(
    KubernetesOptions options,
    IKubernetes client,
    KubernetesEndpoints endpoints,
    KubernetesHealth health,
    TimeProvider time,
    ILogger<KubernetesEndpointFeed> logger) : BackgroundService
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentQueue<(bool Slice, ObjectChange Change)> _changes = new();

    /// <summary>The EndpointSlices of each Service (by their service-name label), kept from the changes; read by the loop only.</summary>
    private readonly Dictionary<(string Namespace, string Service), Dictionary<string, KubeObject>> _slices = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        IEnumerable<string?> scopes = options.Namespaces.IsEmpty ? [null] : [.. options.Namespaces];
        var services = scopes.Select(ns => (Scope: ns, Cache: new ObjectCache())).ToList();
        var slices = scopes.Select(ns => (Scope: ns, Cache: new ObjectCache())).ToList();
        var watches = services.Select(s => new ListWatch(client, WatchedKind.Services, s.Scope, s.Cache, c => Changed(false, c), health, time, logger))
            .Concat(slices.Select(s => new ListWatch(client, WatchedKind.EndpointSlices, s.Scope, s.Cache, c => Changed(true, c), health, time, logger)))
            .Select(w => Task.Run(() => w.RunAsync(stoppingToken), CancellationToken.None))
            .ToList();
        var touched = new HashSet<(string, string)>();
        try
        {
            await foreach (var _ in _signal.Reader.ReadAllAsync(stoppingToken))
            {
                while (_changes.TryDequeue(out var next))
                {
                    touched.UnionWith(Apply(next.Slice, next.Change));
                }

                if (!services.All(s => s.Cache.Synced) || !slices.All(s => s.Cache.Synced))
                {
                    continue;
                }

                foreach (var (ns, name) in touched)
                {
                    var service = services.Select(s => s.Cache.Get(ns, name)).FirstOrDefault(s => s is not null);
                    endpoints.Update(ns, name, service, _slices.TryGetValue((ns, name), out var own) ? own.Values : Enumerable.Empty<KubeObject>());
                }

                health.EndpointsUpdated(touched.Count);
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    LogUpdated(logger, touched.Count, string.Join(", ", touched.Select(t => $"{t.Item1}/{t.Item2}").Order(StringComparer.Ordinal).Take(10)) + (touched.Count > 10 ? ", …" : ""));
                }

                touched.Clear();
                endpoints.MarkSynced();
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

    private void Changed(bool slice, IReadOnlyList<ObjectChange> changes)
    {
        foreach (var change in changes)
        {
            _changes.Enqueue((slice, change));
        }

        _signal.Writer.TryWrite(true);
    }

    /// <summary>Records one change in the slice index; the Services whose entries it touches.</summary>
    private IEnumerable<(string, string)> Apply(bool slice, ObjectChange change)
    {
        if (!slice)
        {
            return [(change.Namespace, change.Name)];
        }

        var touched = new List<(string, string)>(2);
        if (change.Before is { } before && KubernetesEndpoints.ServiceOf(before) is { } was && _slices.TryGetValue((before.Namespace, was), out var old))
        {
            old.Remove(before.Name);
            if (old.Count == 0)
            {
                _slices.Remove((before.Namespace, was));
            }

            touched.Add((before.Namespace, was));
        }

        if (change.After is { } after && KubernetesEndpoints.ServiceOf(after) is { } now)
        {
            if (!_slices.TryGetValue((after.Namespace, now), out var own))
            {
                _slices[(after.Namespace, now)] = own = new Dictionary<string, KubeObject>(StringComparer.Ordinal);
            }

            own[after.Name] = after;
            touched.Add((after.Namespace, now));
        }

        return touched;
    }

    [LoggerMessage(1, LogLevel.Debug, "Kubernetes: read the endpoints of {Count} Services again: {Services}")]
    private static partial void LogUpdated(ILogger logger, int count, string services);
}
