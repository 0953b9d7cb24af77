using System.Net;
using System.Net.NetworkInformation;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Silo;

/// <summary>
/// Tells the cluster which endpoints this silo serves itself (<see cref="IClusterEndpointsGrain"/>), whatever its role:
/// its addresses (advertised and of its machine's interfaces, read at each report so added ones count) and its silo,
/// Orleans gateway and management API ports. Every edge keeps tenants' upstreams away from them and no listener binds
/// those ports; the membership table gives silo and gateway ports too, but only a silo knows its API port. Reports every
/// <see cref="EdgeReporting.Interval"/>, starting as the host starts; a failed report is logged at debug and the next
/// one follows.
/// </summary>
internal sealed partial class SiloEndpointsReporter(
    GatewaySettings settings,
    ILocalSiloDetails silo,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<SiloEndpointsReporter> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        EdgeReporting.RepeatAsync(
            cancellationToken => grains.GetClusterEndpointsGrain().ReportAsync(Current()).WaitAsync(EdgeReporting.Interval, time, cancellationToken),
            EdgeReporting.Interval,
            time,
            e => LogReportFailed(logger, e),
            stoppingToken);

    private SiloEndpoints Current()
    {
        var addresses = new HashSet<IPAddress> { silo.SiloAddress.Endpoint.Address };
        if (IPAddress.TryParse(settings.ApiUrl.Host.Trim('[', ']'), out var api))
        {
            addresses.Add(api);
        }

        try
        {
            addresses.UnionWith(NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address));
        }
        catch (NetworkInformationException e)
        {
            // The advertised address still counts, and every edge adds its own machine's addresses itself.
            LogInterfacesFailed(logger, e);
        }

        var c = settings.Cluster;
        return new SiloEndpoints(
            silo.SiloAddress.ToParsableString(),
            time.GetUtcNow(),
            [.. addresses.Where(a => !a.Equals(IPAddress.Any) && !a.Equals(IPAddress.IPv6Any)).Select(a => a.ToString()).Order(StringComparer.Ordinal)],
            [c.SiloPort, c.GatewayPort, settings.ApiUrl.Port]);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reporting this silo's endpoints to the cluster failed; the next report follows in one interval")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "This machine's interface addresses cannot be read; only the advertised address is reported")]
    private static partial void LogInterfacesFailed(ILogger logger, Exception exception);
}
