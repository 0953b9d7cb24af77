using System.Collections.Immutable;

namespace OrleansGateway.Sources.Kubernetes;

/// <summary>A Service by namespace and name (<c>--kubernetes-service NAMESPACE/NAME</c>).</summary>
public sealed record ServiceRef(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>What the Kubernetes parts of the gateway need from its command line (docs/kubernetes.md).</summary>
public sealed record KubernetesOptions
{
    /// <summary>The namespace label that names a namespace's tenant.</summary>
    public const string TenantLabel = "orleansgateway.io/tenant";

    /// <summary>The gateway installation: resources of another <c>ambassador_id</c> are Ignored and get no status.</summary>
    public required string AmbassadorId { get; init; }

    /// <summary>The gateway's own namespace (<c>AMBASSADOR_NAMESPACE</c>): an unqualified service name resolves there.</summary>
    public required string AmbassadorNamespace { get; init; }

    /// <summary>The tenant of every namespace without the tenant label: the operator's, unrestricted.</summary>
    public string DefaultTenant { get; init; } = "default";

    /// <summary>The namespaces to watch; empty: every namespace (cluster-wide list and watch).</summary>
    public ImmutableArray<string> Namespaces { get; init; } = [];

    /// <summary>Who this process is when it asks for a writer lease (the pod's name and the silo's address).</summary>
    public required string Holder { get; init; }

    /// <summary>Whether resources of <paramref name="ns"/> are watched.</summary>
    public bool Watches(string ns) => Namespaces.IsEmpty || Namespaces.Contains(ns, StringComparer.Ordinal);
}
