using Microsoft.Extensions.Logging;

namespace OrleansGateway.Silo;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information,
        "Applied {ConfigPath} to tenant {Tenant} (version {Version}): {Accepted} accepted, {Discarded} discarded, {Ignored} ignored")]
    public static partial void Applied(ILogger logger, string tenant, long version, string configPath, int accepted, int discarded, int ignored);

    [LoggerMessage(2, LogLevel.Warning, "Tenant {Tenant}: {Resource} is Discarded: {Reasons}")]
    public static partial void Discarded(ILogger logger, string tenant, string resource, string reasons);

    [LoggerMessage(4, LogLevel.Error, "Applying {ConfigPath} to the tenant grains failed; what they hold stays served, the next poll tries again")]
    public static partial void ReloadFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(5, LogLevel.Debug, "Change under {ConfigPath} detected ({Trigger})")]
    public static partial void ChangeDetected(ILogger logger, string configPath, string trigger);

    [LoggerMessage(6, LogLevel.Warning, "File watcher for {ConfigPath} failed; changes are still picked up by polling every second")]
    public static partial void WatcherFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(9, LogLevel.Information, "Silo role {Role}, storage {Storage}, clustering {Clustering}, cluster {ClusterId}/{ServiceId}, silo port {SiloPort}, gateway port {GatewayPort}")]
    public static partial void Starting(ILogger logger, SiloRole role, StorageKind storage, ClusteringKind clustering, string clusterId, string serviceId, int siloPort, int gatewayPort);

    [LoggerMessage(10, LogLevel.Debug, "Reading the tenant grains for /status failed")]
    public static partial void StatusFailed(ILogger logger, Exception exception);

    [LoggerMessage(12, LogLevel.Warning, "The config directory {Path} is missing; keeping what was applied from it until it is back")]
    public static partial void ConfigMissing(ILogger logger, string path);

    [LoggerMessage(13, LogLevel.Warning, "Tenant {Tenant}: a config file cannot be read ({Problem}); keeping what was applied until it can")]
    public static partial void TenantUnreadable(ILogger logger, string tenant, string problem);
}
