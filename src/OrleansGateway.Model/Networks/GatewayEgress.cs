using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;

namespace OrleansGateway.Model.Networks;

/// <summary>
/// Endpoints of the gateway itself: the ports it uses (every silo's silo, Orleans gateway and management API port,
/// every bound listener's port) on any address of a gateway machine (every silo's addresses, plus this machine's:
/// loopback and the unspecified address always count). An upstream there would be a loop or a way into the control
/// plane.
/// </summary>
public sealed record ReservedEndpoints(FrozenSet<IPAddress> Hosts, FrozenSet<int> Ports)
{
    public static ReservedEndpoints None { get; } = new(FrozenSet<IPAddress>.Empty, FrozenSet<int>.Empty);

    /// <summary>This record with more hosts and ports (addresses are stored canonical).</summary>
    public ReservedEndpoints With(IEnumerable<IPAddress> hosts, IEnumerable<int> ports) =>
        new(Hosts.Concat(hosts.Select(Addresses.Canonical)).ToFrozenSet(), Ports.Concat(ports).ToFrozenSet());

    public bool Contains(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var address = Addresses.Canonical(endPoint.Address);
        return Ports.Contains(endPoint.Port) && (Addresses.IsThisMachine(address) || Hosts.Contains(address));
    }
}

/// <summary>
/// The egress rules that hold whatever a tenant's quota says (docs/data-plane.md, "Protected upstreams"): no upstream
/// on a <see cref="ReservedEndpoints"/> endpoint, none link-local (unless <c>--allow-link-local-upstreams</c>), none on
/// the cloud metadata and WireServer addresses. An operator opens a range of them with <c>--allow-upstream CIDR</c>.
/// Checked when connecting for every address, and when applying for IP-literal upstreams.
/// </summary>
public sealed class GatewayEgress(ImmutableArray<IPNetwork> operatorAllowed, bool allowLinkLocal)
{
    /// <summary>AWS/Azure/GCP instance metadata (IPv4 and AWS's IPv6) and Azure's WireServer.</summary>
    public static readonly ImmutableArray<IPAddress> CloudMetadata =
        [IPAddress.Parse("169.254.169.254"), IPAddress.Parse("fd00:ec2::254"), IPAddress.Parse("168.63.129.16")];

    public static GatewayEgress Default { get; } = new([], allowLinkLocal: false);

    public ImmutableArray<IPNetwork> OperatorAllowed { get; } = operatorAllowed.IsDefault ? [] : operatorAllowed;

    public bool AllowLinkLocal { get; } = allowLinkLocal;

    /// <summary>Why <paramref name="endPoint"/> must not be an upstream, in words a tenant may read; null when it may be.</summary>
    public string? Refusal(IPEndPoint endPoint, ReservedEndpoints reserved)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(reserved);
        var address = Addresses.Canonical(endPoint.Address);
        if (OperatorAllowed.Any(n => n.Contains(address)))
        {
            return null;
        }

        if (CloudMetadata.Contains(address))
        {
            return "a cloud instance metadata or WireServer address (the gateway option --allow-upstream opens it)";
        }

        if (!AllowLinkLocal && Addresses.IsLinkLocal(address))
        {
            return "a link-local address (cloud instance metadata lives there; the gateway option --allow-link-local-upstreams permits it)";
        }

        if (reserved.Contains(endPoint))
        {
            return $"an endpoint of the gateway itself (port {endPoint.Port} on an address of a gateway machine: a listener, or a silo, " +
                "Orleans gateway or management API port); a mapping must not point back into the gateway";
        }

        return null;
    }
}
