using Microsoft.Extensions.Logging;

namespace OrleansGateway.Silo;

internal static partial class Log
{
    [LoggerMessage(9, LogLevel.Information, "Silo role {Role}, storage {Storage}, clustering {Clustering}, cluster {ClusterId}/{ServiceId}, silo port {SiloPort}, gateway port {GatewayPort}, API on {ApiUrl}")]
    public static partial void Starting(ILogger logger, SiloRole role, StorageKind storage, ClusteringKind clustering, string clusterId, string serviceId, int siloPort, int gatewayPort, Uri apiUrl);

    [LoggerMessage(10, LogLevel.Debug, "Reading the tenant grains for /status failed")]
    public static partial void StatusFailed(ILogger logger, Exception exception);
}
