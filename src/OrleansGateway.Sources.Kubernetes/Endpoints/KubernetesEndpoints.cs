using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Text.Json;
using OrleansGateway.Sources.Kubernetes.Watching;

namespace OrleansGateway.Sources.Kubernetes.Endpoints;

/// <summary>Why a Service's endpoints cannot be dialled; the message says what is missing.</summary>
public sealed class EndpointsUnavailableException(string message) : Exception(message);

/// <summary>
/// The ready endpoints of every watched Service, for <c>KubernetesEndpointResolver</c> (docs/kubernetes.md,
/// "Endpoints"): one immutable entry per Service, replaced whole when that Service or one of its EndpointSlices changes
/// (no other Service's entry is rebuilt), so a lookup never locks and never sees half an update of a Service. Open
/// connections do not depend on it: only new dials read it.
/// </summary>
public sealed class KubernetesEndpoints
{
    private const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>One immutable entry per Service, replaced whole when that Service or one of its EndpointSlices changes.</summary>
    private readonly ConcurrentDictionary<(string Namespace, string Name), ServiceEndpoints> _table = new();

    private volatile bool _synced;

    /// <summary>Whether Services and EndpointSlices have been listed once (before that every lookup fails).</summary>
    public bool Synced => _synced;

    /// <summary>
    /// Where to dial Service <paramref name="name"/> of <paramref name="ns"/> at its port <paramref name="port"/>:
    /// the ready endpoints of that Service port, each at the port its EndpointSlice gives (the target port). The Service
    /// port is the one with that number, else the Service's only port.
    /// </summary>
    /// <exception cref="EndpointsUnavailableException">No such Service or port, or no ready endpoint.</exception>
    public IPEndPoint[] Resolve(string ns, string name, int port)
    {
        if (!_synced)
        {
            throw new EndpointsUnavailableException("the Services and EndpointSlices of the cluster have not been listed yet");
        }

        if (!_table.TryGetValue((ns, name), out var service))
        {
            throw new EndpointsUnavailableException($"Service {ns}/{name} does not exist (or is not in a watched namespace)");
        }

        var servicePort = service.Ports.FirstOrDefault(p => p.Port == port) ?? (service.Ports.Length == 1 ? service.Ports[0] : null);
        if (servicePort is null)
        {
            var ports = service.Ports.IsEmpty ? "none" : string.Join(", ", service.Ports.Select(p => p.Name.Length == 0 ? $"{p.Port}" : $"{p.Port} ({p.Name})"));
            throw new EndpointsUnavailableException($"Service {ns}/{name} has no port {port} (its ports: {ports})");
        }

        return servicePort.Endpoints.IsEmpty
            ? throw new EndpointsUnavailableException($"Service {ns}/{name} has no ready endpoint for port {servicePort.Port}")
            : [.. servicePort.Endpoints];
    }

    /// <summary>
    /// Replaces the entry of Service <paramref name="ns"/>/<paramref name="name"/> with what <paramref name="service"/>
    /// (null: it is gone) and its EndpointSlices say now; no other Service's entry is looked at.
    /// </summary>
    internal void Update(string ns, string name, KubeObject? service, IEnumerable<KubeObject> slices)
    {
        if (service is null)
        {
            _table.TryRemove((ns, name), out _);
            return;
        }

        var json = slices.Select(s => s.Json).ToList();
        _table[(ns, name)] = new ServiceEndpoints([.. ServicePorts(service.Json).Select(p => new PortEndpoints(p.Name, p.Port, ReadyEndpoints(json, p.Name)))]);
    }

    /// <summary>Every Service and EndpointSlice has been listed once: lookups answer from now on.</summary>
    internal void MarkSynced() => _synced = true;

    /// <summary>The Service an EndpointSlice belongs to (its <c>kubernetes.io/service-name</c> label), or null.</summary>
    internal static string? ServiceOf(KubeObject slice) => slice.Labels.GetValueOrDefault(ServiceNameLabel);

    private static IEnumerable<(string Name, int Port)> ServicePorts(JsonElement service)
    {
        if (!service.TryGetProperty("spec", out var spec) || !spec.TryGetProperty("ports", out var ports) || ports.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var port in ports.EnumerateArray())
        {
            if (IsTcp(port) && port.TryGetProperty("port", out var number) && number.TryGetInt32(out var value))
            {
                yield return (Text(port, "name"), value);
            }
        }
    }

    /// <summary>Ready endpoints (a missing <c>ready</c> means ready, as the API defines it) of the slice port named like the Service port.</summary>
    private static ImmutableArray<IPEndPoint> ReadyEndpoints(IEnumerable<JsonElement> slices, string portName)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (var slice in slices)
        {
            if (Text(slice, "addressType") is not ("IPv4" or "IPv6")
                || !slice.TryGetProperty("ports", out var ports) || ports.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var target = ports.EnumerateArray()
                .Where(p => IsTcp(p) && Text(p, "name") == portName && p.TryGetProperty("port", out var n) && n.TryGetInt32(out _))
                .Select(p => p.GetProperty("port").GetInt32())
                .FirstOrDefault();
            if (target == 0 || !slice.TryGetProperty("endpoints", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var endpoint in list.EnumerateArray())
            {
                var ready = !(endpoint.TryGetProperty("conditions", out var conditions) && conditions.ValueKind == JsonValueKind.Object
                    && conditions.TryGetProperty("ready", out var r) && r.ValueKind == JsonValueKind.False);
                if (!ready || !endpoint.TryGetProperty("addresses", out var addresses) || addresses.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var address in addresses.EnumerateArray())
                {
                    if (address.ValueKind == JsonValueKind.String && IPAddress.TryParse(address.GetString(), out var ip))
                    {
                        endpoints.Add(new IPEndPoint(ip, target));
                    }
                }
            }
        }

        return [.. endpoints.Distinct()];
    }

    private static bool IsTcp(JsonElement port) => Text(port, "protocol") is "" or "TCP";

    private static string Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private sealed record PortEndpoints(string Name, int Port, ImmutableArray<IPEndPoint> Endpoints);

    private sealed record ServiceEndpoints(ImmutableArray<PortEndpoints> Ports);
}
