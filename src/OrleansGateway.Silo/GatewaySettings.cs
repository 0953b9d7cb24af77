using System.Net;
using OrleansGateway.Api;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy;

namespace OrleansGateway.Silo;

/// <summary>What this silo runs: grains, the data plane, or both.</summary>
internal enum SiloRole
{
    /// <summary>Grains and the data plane (a single process serves everything).</summary>
    All,

    /// <summary>The data plane only; no grain class is hosted here.</summary>
    Edge,

    /// <summary>Grains only; no listener is bound.</summary>
    Core,
}

internal enum StorageKind
{
    Azure,
    Memory,
}

internal enum ClusteringKind
{
    Localhost,
    Azure,
}

/// <summary>How the silo joins its cluster and where grain state lives.</summary>
/// <param name="ConnectionString">Azure Storage connection string (tables); never logged. Unused with <see cref="StorageEndpoint"/>.</param>
/// <param name="PrimarySilo">Localhost clustering with several processes: the primary silo's endpoint (null: this one is primary).</param>
internal sealed record ClusterSettings(
    SiloRole Role,
    StorageKind Storage,
    ClusteringKind Clustering,
    string ConnectionString,
    int SiloPort,
    int GatewayPort,
    IPEndPoint? PrimarySilo,
    string ClusterId,
    string ServiceId)
{
    /// <summary>With azure clustering, the address other silos reach this one at (<c>--advertised-address</c>, env <c>POD_IP</c>); null: loopback.</summary>
    public IPAddress? AdvertisedAddress { get; init; }

    /// <summary>
    /// The Table endpoint reached with a token credential instead of <see cref="ConnectionString"/> (<c>--storage-endpoint</c>,
    /// env <c>OGW_STORAGE_ENDPOINT</c>); null: the connection string.
    /// </summary>
    public Uri? StorageEndpoint { get; init; }

    /// <summary>The silo's name (env <c>POD_NAME</c>); null: Orleans' own.</summary>
    public string? SiloName { get; init; }

    public bool HostsGrains => Role != SiloRole.Edge;

    public bool ServesTraffic => Role != SiloRole.Core;
}

/// <summary>Everything the command line decides, validated.</summary>
/// <param name="ConfigPath">Directory (or file) of resources, watched for changes; null when there is none.</param>
/// <param name="ApiUrl">Where Kestrel serves /healthz, /readyz, /metrics, /status, /api/v1 and /dashboard.</param>
/// <param name="AdminKey">The management API's admin key; null when none is configured (admin endpoints answer 401).</param>
internal sealed record GatewaySettings(
    string? ConfigPath,
    string AmbassadorId,
    CompileOptions Compile,
    Uri ApiUrl,
    ProxyOptions Proxy,
    ClusterSettings Cluster,
    AdminKey? AdminKey = null)
{
    /// <summary>Azure Key Vault as the certificate source (<c>--key-vault-uri</c>); null when none is configured.</summary>
    public KeyVault.KeyVaultOptions? KeyVault { get; init; }

    /// <summary>The metrics token and the API's HTTPS certificate (docs/api.md, "Serving the API").</summary>
    public ApiServing ApiServing { get; init; } = new(null, null, null);

    /// <summary>The level of the gateway's own categories (<c>--log-level</c>); null: the configuration's (Information).</summary>
    public LogLevel? LogLevel { get; init; }

    /// <summary>The Kubernetes source, endpoints and Service (<c>--kubernetes</c>); null when it is off.</summary>
    public KubernetesSettings? Kubernetes { get; init; }

    /// <summary>
    /// <c>--max-snapshot-age</c>: while the control plane is unreachable, the edge is unready once its last good snapshot
    /// is older; null (the default): it stays ready on its last snapshot.
    /// </summary>
    public TimeSpan? MaxSnapshotAge { get; init; }

    /// <summary><c>--api-rate-limit</c> and <c>--api-rate-limit-per-source</c>.</summary>
    public Api.ApiRateLimits ApiRateLimits { get; init; } = new();
}
