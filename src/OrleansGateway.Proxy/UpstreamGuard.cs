using System.Collections.Frozen;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace OrleansGateway.Proxy;

/// <summary>
/// Keeps tenants' upstreams away from the gateway's own control ports and from link-local services (cloud
/// instance metadata). Checked per resolved address at connect time, so a name that resolves to such an address
/// is caught as well as a literal; the compiler stays pure (see docs/data-plane.md, "Protected upstreams").
/// </summary>
internal sealed class UpstreamGuard(ProxyOptions options)
{
    /// <summary>Addresses of this machine's interfaces, read once: a connect to one of them reaches this process's ports.</summary>
    private static readonly Lazy<FrozenSet<IPAddress>> InterfaceAddresses = new(ReadInterfaceAddresses);

    /// <summary>Why <paramref name="endPoint"/> must not be dialled, or null when it may be.</summary>
    public string? Refusal(IPEndPoint endPoint)
    {
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        if (!options.AllowLinkLocalUpstreams && IsLinkLocal(address))
        {
            return "a link-local address (cloud instance metadata lives there; the gateway option --allow-link-local-upstreams permits it)";
        }

        if (options.ProtectedPorts.Contains(endPoint.Port) && IsLocal(address))
        {
            return $"a port of the gateway itself ({endPoint.Port} on a local address: silo, Orleans gateway or management API)";
        }

        return null;
    }

    private static bool IsLinkLocal(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork
        ? address.GetAddressBytes() is [169, 254, _, _]
        : address.IsIPv6LinkLocal;

    private static bool IsLocal(IPAddress address)
        => IPAddress.IsLoopback(address)
            || address.Equals(IPAddress.Any)
            || address.Equals(IPAddress.IPv6Any)
            || InterfaceAddresses.Value.Contains(address);

    private static FrozenSet<IPAddress> ReadInterfaceAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .ToFrozenSet();
        }
        catch (NetworkInformationException)
        {
            // Without the list, loopback and the unspecified address are still guarded.
            return FrozenSet<IPAddress>.Empty;
        }
    }
}
