using System.Collections.Immutable;
using System.Net;
using OrleansGateway.Model.Networks;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>What one silo publishes about itself: the addresses of its machine and the ports it serves.</summary>
/// <param name="Silo">The silo's name (its silo address).</param>
/// <param name="Addresses">Its advertised address and the addresses of its machine's interfaces.</param>
/// <param name="Ports">Its silo port, Orleans gateway port and management API port.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.SiloEndpoints")]
public sealed record SiloEndpoints(
    [property: Id(0)] string Silo,
    [property: Id(1)] DateTimeOffset ReportedAt,
    [property: Id(2)] ImmutableArray<string> Addresses,
    [property: Id(3)] ImmutableArray<int> Ports);

/// <summary>
/// The gateway's own control endpoints across the cluster: every silo's addresses and every silo, Orleans gateway and
/// management API port, from the membership table and from what silos publish (<see cref="SiloEndpoints"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ClusterEndpoints")]
public sealed record ClusterEndpoints(
    [property: Id(0)] ImmutableArray<string> Hosts,
    [property: Id(1)] ImmutableArray<int> Ports)
{
    public static ClusterEndpoints None { get; } = new([], []);

    public IEnumerable<IPAddress> HostAddresses() => Hosts.Select(h => IPAddress.TryParse(h, out var a) ? a : null).OfType<IPAddress>();

    /// <summary>As the egress rules take them; <paramref name="listenerPorts"/> (the gateway's listeners) are reserved too.</summary>
    public ReservedEndpoints ToReserved(IEnumerable<int> listenerPorts) => ReservedEndpoints.None.With(HostAddresses(), Ports.Concat(listenerPorts));
}

/// <summary>
/// The gateway's own endpoints in the cluster (one grain, <see cref="GatewayGrains.GetClusterEndpointsGrain"/>). Not
/// persisted: every silo reports every <see cref="EdgeReporting.Interval"/>, a report not renewed within
/// <see cref="EdgeReporting.Expiry"/> is dropped, and the membership table fills in silos that have not reported yet.
/// Tenant grains read it to refuse listeners on these ports and upstreams on these endpoints; edges read it to refuse
/// such upstreams when connecting and such ports when binding.
/// </summary>
[Alias("OrleansGateway.IClusterEndpointsGrain")]
public interface IClusterEndpointsGrain : IGrainWithStringKey
{
    [Alias("Report")]
    Task ReportAsync(SiloEndpoints endpoints);

    [Alias("Get")]
    Task<ClusterEndpoints> GetAsync();
}
