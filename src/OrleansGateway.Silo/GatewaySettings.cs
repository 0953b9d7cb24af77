using System.Net;
using OrleansGateway.Model;
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
/// <param name="ConnectionString">Azure Storage connection string (tables); never logged.</param>
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
}

/// <summary>
/// The admin key, held only as its SHA-256 so that it cannot be printed: the settings record prints every member,
/// and this prints "(set)". Comparing hashes also makes the comparison constant-time whatever the lengths.
/// </summary>
internal sealed class AdminKey
{
    /// <summary>Shorter keys are refused at start: they could be guessed.</summary>
    public const int MinLength = 16;

    private readonly byte[] _hash;

    public AdminKey(string key) => _hash = Hash(key);

    public bool Matches(string candidate) => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(_hash, Hash(candidate));

    public override string ToString() => "(set)";

    private static byte[] Hash(string value) => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value));
}
