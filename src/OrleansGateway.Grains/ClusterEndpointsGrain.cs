using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains;

/// <summary>
/// See <see cref="IClusterEndpointsGrain"/>. In memory only: silos report again within one interval after a move. The
/// membership table is read through the management grain (which refreshes it from its store) at most once per
/// <see cref="EdgeReporting.Interval"/>, so answering readers costs no storage read each time.
/// </summary>
public sealed partial class ClusterEndpointsGrain(TimeProvider time, ILogger<ClusterEndpointsGrain> logger) : Grain, IClusterEndpointsGrain
{
    private readonly ReportBook<SiloEndpoints> _book = new(time, EdgeReporting.Expiry, r => r.Silo, r => r.ReportedAt);
    private (ImmutableArray<string> Hosts, ImmutableArray<int> Ports) _membership = ([], []);
    private DateTimeOffset? _membershipReadAt;

    public Task ReportAsync(SiloEndpoints endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _book.Add(endpoints);
        return Task.CompletedTask;
    }

    public async Task<ClusterEndpoints> GetAsync()
    {
        var now = time.GetUtcNow();
        if (_membershipReadAt is not { } readAt || now - readAt >= EdgeReporting.Interval)
        {
            try
            {
                var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);

                // Every silo not declared dead: one that is joining may already serve (its ports are taken either way).
                var live = hosts.Where(h => h.Status != SiloStatus.Dead).ToList();
                _membership = (
                    [.. live.Select(h => h.SiloAddress.Endpoint.Address.ToString())],
                    [.. live.SelectMany(h => new[] { h.SiloAddress.Endpoint.Port, h.ProxyPort }).Where(p => p > 0)]);
                _membershipReadAt = now;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The reports still answer; the last membership read stays (silos rarely change their ports).
                LogMembershipFailed(logger, e);
            }
        }

        var reports = _book.Current();
        return new ClusterEndpoints(
            [.. _membership.Hosts.Concat(reports.SelectMany(r => r.Addresses)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            [.. _membership.Ports.Concat(reports.SelectMany(r => r.Ports)).Distinct().Order()]);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The membership table could not be read; the gateway's reserved endpoints come from the silos' reports and the last read")]
    private static partial void LogMembershipFailed(ILogger logger, Exception exception);
}
