using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;
using OrleansGateway.Reporting;

namespace OrleansGateway.Sources.ConfigDirectory;

/// <summary>What the config directory source needs from the host's command line.</summary>
/// <param name="Path">The directory (or a single file) of resources, watched for changes.</param>
/// <param name="AmbassadorId">The gateway installation its resources are compiled for.</param>
/// <param name="Compile">The compile options the offline evaluation uses (the tenant is set per subdirectory).</param>
public sealed record ConfigDirectoryOptions(string Path, string AmbassadorId, CompileOptions Compile)
{
    /// <summary>
    /// How often every file is looked at (a stat, no read) in case the watcher missed a change; between scans only the
    /// tenants a watcher event names are looked at. Not a command-line option: tests shorten or lengthen it.
    /// </summary>
    public TimeSpan FullScanInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>One tenant of the config directory: its files evaluated offline (as <c>ogw check</c> does) and the grain's answer.</summary>
public sealed record ConfigTenant(string Tenant, ConfigEvaluation Local, ApplyOutcome Outcome);

/// <summary>The last successful apply of the config directory.</summary>
/// <param name="DirectoryVersion">The directory grain's version right after it: an edge serving this version or a later one serves it.</param>
public sealed record ConfigApplied(ImmutableArray<ConfigTenant> Tenants, long DirectoryVersion);

/// <summary>The config directory's last apply (for <c>/readyz</c> and <c>/status</c>), published whole so that readers never see half of an update.</summary>
public sealed class ConfigDirectoryState
{
    private volatile ConfigApplied? _config;
    private long _fullScans;
    private long _tenantsLookedAt;
    private long _tenantsApplied;

    /// <summary>Null until the config directory was applied once (always null without one).</summary>
    public ConfigApplied? Config => _config;

    public void Publish(ConfigApplied config) => _config = config;

    /// <summary>How many times every tenant's files were looked at (the start, the periodic scan, a watcher overflow).</summary>
    internal long FullScans => Interlocked.Read(ref _fullScans);

    /// <summary>How many tenant fingerprints were taken in all (a full scan counts each tenant): what change detection cost.</summary>
    internal long TenantsLookedAt => Interlocked.Read(ref _tenantsLookedAt);

    /// <summary>How many tenants were read and applied in all (a tenant whose fingerprint did not change is not).</summary>
    internal long TenantsApplied => Interlocked.Read(ref _tenantsApplied);

    internal void CountApplied(int tenants) => Interlocked.Add(ref _tenantsApplied, tenants);

    internal void CountLook(int tenants, bool full)
    {
        Interlocked.Add(ref _tenantsLookedAt, tenants);
        if (full)
        {
            Interlocked.Increment(ref _fullScans);
        }
    }
}
