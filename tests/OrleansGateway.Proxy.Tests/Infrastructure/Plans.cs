using System.Collections.Immutable;
using System.Net;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

/// <summary>Builds plan records directly (the data plane does not need the compiler).</summary>
internal static class Plans
{
    public static ResourceRef Mapping(string name, string ns = "default") => new("TCPMapping", ns, name);

    public static UpstreamPlan Upstream(
        IPEndPoint target,
        string name = "m",
        double share = 100,
        TimeSpan? idleTimeout = null,
        CircuitBreakerPlan? breakers = null,
        TlsOrigination? origination = null,
        string? clusterKey = null,
        TimeSpan? connectTimeout = null)
        => Upstream(target.Address.ToString(), target.Port, isIpLiteral: true, name, share, idleTimeout, breakers, origination, clusterKey, connectTimeout);

    public static UpstreamPlan Upstream(
        string host,
        int port,
        bool isIpLiteral,
        string name = "m",
        double share = 100,
        TimeSpan? idleTimeout = null,
        CircuitBreakerPlan? breakers = null,
        TlsOrigination? origination = null,
        string? clusterKey = null,
        TimeSpan? connectTimeout = null,
        bool enableIpv4 = true,
        bool enableIpv6 = true)
    {
        var scheme = origination is null ? "" : "https://";
        var target = new ServiceAddress(origination is null ? "" : "https", host, port, isIpLiteral);
        return new UpstreamPlan(
            Mapping(name),
            "tenant-a",
            name,
            $"{scheme}{target}",
            target,
            share,
            origination,
            ResolverPlan.KubernetesService,
            enableIpv4,
            enableIpv6,
            breakers ?? CircuitBreakerPlan.Default,
            idleTimeout,
            connectTimeout ?? TimeSpan.FromSeconds(3),
            clusterKey ?? $"{scheme}{target}|{name}");
    }

    public static RoutePlan Route(params UpstreamPlan[] upstreams) => new($"GROUP: {upstreams[0].Mapping.Name}", [.. upstreams]);

    /// <summary>A listener that sends every connection to <paramref name="catchAll"/> (no TLS inspection).</summary>
    public static ListenerPlan Cleartext(ListenerEndpoint endpoint, RoutePlan catchAll, string? statsPrefix = null)
        => new(endpoint, $"listener-{endpoint.Address}-{endpoint.Port}", null, false, statsPrefix ?? $"ingress_tcp_{endpoint.Port}", [],
            catchAll, catchAll.Upstreams.Select(u => u.Mapping).ToImmutableArray());

    public static ListenerPlan Inspecting(ListenerEndpoint endpoint, IEnumerable<SniRoute> routes, RoutePlan? catchAll = null, string? statsPrefix = null)
    {
        var sni = routes.ToImmutableArray();
        return new(endpoint, $"listener-{endpoint.Address}-{endpoint.Port}", null, true, statsPrefix ?? $"ingress_tls_{endpoint.Port}", sni, catchAll,
            sni.SelectMany(r => r.Route.Upstreams).Concat(catchAll?.Upstreams ?? []).Select(u => u.Mapping).ToImmutableArray());
    }

    public static GatewayPlan Plan(params ListenerPlan[] listeners) => new("default", [.. listeners]);

    /// <summary>A fresh loopback endpoint with port 0; 127.0.0.x addresses keep listeners of one test apart.</summary>
    public static ListenerEndpoint Loopback(int lastOctet = 1) => new($"127.0.0.{lastOctet}", 0);
}
