using System.Collections.Immutable;
using OrleansGateway.Grains;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>One tenant of the config directory: its files evaluated offline (as <c>ogw check</c> does) and the grain's answer.</summary>
internal sealed record ConfigTenant(string Tenant, ConfigEvaluation Local, ApplyOutcome Outcome);

/// <summary>The last successful apply of the config directory.</summary>
/// <param name="DirectoryVersion">The directory grain's version right after it: an edge serving this version or a later one serves it.</param>
internal sealed record ConfigApplied(ImmutableArray<ConfigTenant> Tenants, long DirectoryVersion);

/// <summary>The config directory's last apply, published whole so that readers never see half of an update.</summary>
internal sealed class GatewayState
{
    private volatile ConfigApplied? _config;

    /// <summary>Null until the config directory was applied once (always null without one).</summary>
    public ConfigApplied? Config => _config;

    public void Publish(ConfigApplied config) => _config = config;
}
