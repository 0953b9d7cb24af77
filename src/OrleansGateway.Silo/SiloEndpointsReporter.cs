using System.Net;
using System.Net.NetworkInformation;
using OrleansGateway.Edge;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Silo;

/// <summary>
/// Tells the cluster which endpoints this silo serves itself (<see cref="IClusterEndpointsGrain"/>), whatever its role:
/// its addresses (advertised and of its machine's interfaces, read at each report so added ones count) and its silo,
/// Orleans gateway and management API ports. Every edge keeps tenants' upstreams away from them and no listener binds
/// those ports; the membership table gives silo and gateway ports too, but only a silo knows its API port. Reports as
/// the host starts, at once when the machine's addresses change (<see cref="NetworkChange.NetworkAddressChanged"/>, a
/// kernel notification, no polling), and otherwise every <see cref="Heartbeat"/> to renew the report before it expires;
/// a failed report is logged at debug and the next one follows after <see cref="EdgeReporting.Interval"/>.
/// </summary>
internal sealed partial class SiloEndpointsReporter(
    GatewaySettings settings,
    ILocalSiloDetails silo,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<SiloEndpointsReporter> logger) : BackgroundService
{
    /// <summary>
    /// Quiet when idle: what a silo serves rarely changes, so its report is renewed every 2.5 intervals, well within the
    /// expiry of five (docs/benchmarks.md, "Idle"); an address change does not wait for it.
    /// </summary>
    public static readonly TimeSpan Heartbeat = EdgeReporting.Interval * EdgeStatusReporter.HeartbeatIntervals;

    private TaskCompletionSource _changed = NewSignal();

    /// <summary>Reports at once instead of at the next heartbeat (the machine's addresses changed).</summary>
    public void ReportNow() => Volatile.Read(ref _changed).TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watching = WatchAddresses();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // A new signal before the report: a change during it triggers the next report at once.
                var changed = NewSignal();
                Volatile.Write(ref _changed, changed);
                var wait = Heartbeat;
                try
                {
                    await grains.GetClusterEndpointsGrain().ReportAsync(Current()).WaitAsync(EdgeReporting.Interval, time, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Sooner than the heartbeat, so that one failure does not let the last report expire.
                    wait = EdgeReporting.Interval;
                    LogReportFailed(logger, e);
                }

                await Task.WhenAny(changed.Task, Task.Delay(wait, time, stoppingToken));
            }
        }
        finally
        {
            if (watching)
            {
                NetworkChange.NetworkAddressChanged -= OnAddressChanged;
            }
        }
    }

    /// <summary>Subscribes to address changes; where the platform cannot tell, the heartbeat's reports still read them.</summary>
    private bool WatchAddresses()
    {
        try
        {
            NetworkChange.NetworkAddressChanged += OnAddressChanged;
            return true;
        }
        catch (Exception e) when (e is NetworkInformationException or PlatformNotSupportedException)
        {
            LogAddressWatchFailed(logger, e);
            return false;
        }
    }

    private void OnAddressChanged(object? sender, EventArgs e) => ReportNow();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    [LoggerMessage(Level = LogLevel.Debug, Message = "This machine's address changes cannot be watched; its addresses are read at each heartbeat report")]
    private static partial void LogAddressWatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "This machine's interface addresses cannot be read; only the advertised address is reported")]
    private static partial void LogInterfacesFailed(ILogger logger, Exception exception);
}
