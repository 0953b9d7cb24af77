using System.Collections.Immutable;
using System.CommandLine;
using System.Net;
using k8s;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Sources.Kubernetes;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Silo;

/// <summary>What <c>--kubernetes</c> turns on (docs/kubernetes.md).</summary>
/// <param name="Cluster">The API server and credentials, from the kubeconfig or the pod's service account.</param>
/// <param name="Namespaces">Empty: every namespace.</param>
/// <param name="Service">The Service whose ports are kept equal to the bound listener ports, if any.</param>
internal sealed record KubernetesSettings(
    KubernetesClientConfiguration Cluster,
    ImmutableArray<string> Namespaces,
    string DefaultTenant,
    ServiceRef? Service);

/// <summary>
/// The Kubernetes options of the gateway (issue 15: the Kubernetes source, the gateway's Service, silos in pods), kept
/// apart so the main command line stays small. <c>--advertised-address</c> (default: env <c>POD_IP</c>) and env
/// <c>POD_NAME</c> make a silo in a pod reachable by the others.
/// </summary>
internal sealed class KubernetesCommandLine
{
    private readonly Option<bool> _kubernetes = new("--kubernetes")
    {
        Description = "Watch Emissary's resources (getambassador.io/v3alpha1), TLS Secrets, Namespaces and EndpointSlices in a Kubernetes " +
            "cluster: namespaces map to tenants (label orleansgateway.io/tenant), statuses are written back (docs/kubernetes.md).",
    };

    private readonly Option<string> _kubeconfig = new("--kubeconfig")
    {
        Description = "The cluster's kubeconfig (its current context). Default: env KUBECONFIG, else the pod's service account, else ~/.kube/config.",
        HelpName = "path",
    };

    private readonly Option<string[]> _namespaces = new("--kubernetes-namespace")
    {
        Description = "Watch only this namespace (repeat the option for several). Default: every namespace.",
        HelpName = "namespace",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _defaultTenant = new("--kubernetes-default-tenant")
    {
        Description = "The tenant of every namespace without the label orleansgateway.io/tenant: the operator's, unrestricted.",
        DefaultValueFactory = _ => "default",
        HelpName = "tenant",
    };

    private readonly Option<string> _service = new("--kubernetes-service")
    {
        Description = "The Service (e.g. a LoadBalancer) whose spec.ports the edges keep equal to the listener ports they have bound.",
        HelpName = "namespace/name",
    };

    private readonly Option<string> _advertisedAddress = new("--advertised-address")
    {
        Description = "The address this silo advertises to the others with --clustering azure (default: env POD_IP; else 127.0.0.1, one machine). " +
            "The silo name comes from env POD_NAME when set.",
        HelpName = "ip",
    };

    public IEnumerable<Option> All => [_kubernetes, _kubeconfig, _namespaces, _defaultTenant, _service, _advertisedAddress];

    /// <summary>A message naming the wrong option and what to give instead, else null.</summary>
    public string? Check(ParseResult result, bool azureClustering)
    {
        var on = result.GetValue(_kubernetes);
        foreach (var option in new Option[] { _kubeconfig, _namespaces, _service })
        {
            if (!on && result.GetResult(option) is { Implicit: false })
            {
                return $"{option.Name} only applies with --kubernetes";
            }
        }

        if (!on && result.GetResult(_defaultTenant) is { Implicit: false })
        {
            return $"{_defaultTenant.Name} only applies with --kubernetes";
        }

        foreach (var ns in result.GetValue(_namespaces) ?? [])
        {
            if (!ResourceNames.IsDnsLabel(ns))
            {
                return $"--kubernetes-namespace '{ns}' is not a namespace name (lowercase letters, digits and '-', at most 63 characters)";
            }
        }

        var tenant = result.GetValue(_defaultTenant)!;
        if (!ResourceNames.IsDnsLabel(tenant))
        {
            return $"--kubernetes-default-tenant '{tenant}' is not a tenant name (lowercase letters, digits and '-', at most 63 characters)";
        }

        if (result.GetValue(_service) is { } service && ParseService(service) is null)
        {
            return $"--kubernetes-service '{service}' is not NAMESPACE/NAME, e.g. orleans-gateway/ogw-edge";
        }

        var explicitAddress = result.GetValue(_advertisedAddress);
        if (explicitAddress is not null && !azureClustering)
        {
            return "--advertised-address only applies to --clustering azure; with localhost clustering silos advertise 127.0.0.1";
        }

        var (text, origin) = explicitAddress is not null ? (explicitAddress, "--advertised-address") : (Environment.GetEnvironmentVariable("POD_IP"), "env POD_IP");
        if (azureClustering && !string.IsNullOrEmpty(text) && ParseAddress(text) is null)
        {
            return $"{origin} '{text}' is not an IP address other silos can reach (e.g. 10.244.1.17); 0.0.0.0 and :: are not";
        }

        return null;
    }

    /// <summary>The settings for <c>--kubernetes</c> (null without it), or a problem with the cluster's configuration.</summary>
    public KubernetesSettings? Read(ParseResult result, out string? problem)
    {
        problem = null;
        if (!result.GetValue(_kubernetes))
        {
            return null;
        }

        var cluster = KubernetesCluster.Load(
            result.GetValue(_kubeconfig), Environment.GetEnvironmentVariable("KUBECONFIG"), Environment.GetEnvironmentVariable("HOME"), out problem);
        return cluster is null
            ? null
            : new KubernetesSettings(
                cluster,
                [.. (result.GetValue(_namespaces) ?? []).Distinct(StringComparer.Ordinal)],
                result.GetValue(_defaultTenant)!,
                result.GetValue(_service) is { } service ? ParseService(service) : null);
    }

    /// <summary>The address to advertise with azure clustering: --advertised-address, else env POD_IP; null: loopback.</summary>
    public IPAddress? AdvertisedAddress(ParseResult result) =>
        ParseAddress(result.GetValue(_advertisedAddress) ?? Environment.GetEnvironmentVariable("POD_IP") ?? "");

    /// <summary>The silo's name: env POD_NAME in a pod, else Orleans' own.</summary>
    public static string? SiloName() => Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } name ? name : null;

    private static IPAddress? ParseAddress(string text) =>
        IPAddress.TryParse(text, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) ? address : null;

    private static ServiceRef? ParseService(string text) =>
        text.Split('/') is [var ns, var name] && ResourceNames.IsDnsLabel(ns) && ResourceNames.IsDnsLabel(name) ? new ServiceRef(ns, name) : null;
}
