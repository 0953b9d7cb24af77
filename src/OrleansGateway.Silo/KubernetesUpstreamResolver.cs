using System.Net;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;
using OrleansGateway.Proxy;
using OrleansGateway.Sources.Kubernetes.Endpoints;

namespace OrleansGateway.Silo;

/// <summary>
/// The data plane's resolver with <c>--kubernetes</c>: a mapping whose resolver is a <c>KubernetesEndpointResolver</c>
/// dials the ready endpoints of the Service its host names (<see cref="KubernetesEndpoints"/>, refreshed live); every
/// other resolver keeps DNS (a <c>KubernetesServiceResolver</c>'s name, already qualified with the mapping's namespace
/// by the compiler, is a cluster DNS name). The host names the Service as Emissary splits it: <c>svc</c> is in the
/// gateway's namespace (<c>AMBASSADOR_NAMESPACE</c>), <c>svc.ns</c> and <c>svc.ns.svc.cluster.local</c> in <c>ns</c>.
/// </summary>
internal sealed class KubernetesUpstreamResolver(KubernetesEndpoints endpoints, string ambassadorNamespace, IUpstreamResolver dns) : IUpstreamResolver
{
    public ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken) =>
        dns.ResolveAsync(host, resolver, cancellationToken);

    public ValueTask<IPEndPoint[]> ResolveEndpointsAsync(ServiceAddress target, ResolverPlan resolver, CancellationToken cancellationToken)
    {
        if (resolver.Kind != ResolverKind.KubernetesEndpoint)
        {
            return dns.ResolveEndpointsAsync(target, resolver, cancellationToken);
        }

        var labels = target.Host.Split('.');
        var (name, ns) = labels.Length == 1 ? (labels[0], ambassadorNamespace) : (labels[0], labels[1]);
        return ValueTask.FromResult(endpoints.Resolve(ns, name, target.Port));
    }
}
