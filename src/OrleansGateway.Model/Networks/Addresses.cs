using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Model.Networks;

/// <summary>
/// The gateway's rules about IP addresses, defined once for the compiler, the grains and the data plane
/// (docs/data-plane.md, "Protected upstreams"; docs/control-plane.md, "Listener addresses").
/// </summary>
public static class Addresses
{
    private static readonly IPNetwork Ipv4Loopback = new(IPAddress.Parse("127.0.0.0"), 8);

    /// <summary>An IPv4-mapped IPv6 address (<c>::ffff:127.0.0.1</c>) is its IPv4 address; every other address is itself.</summary>
    public static IPAddress Canonical(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>127.0.0.0/8 or ::1 (after <see cref="Canonical"/>).</summary>
    public static bool IsLoopback(IPAddress address) => IPAddress.IsLoopback(Canonical(address));

    /// <summary>0.0.0.0 or :: (after <see cref="Canonical"/>): a connect to it reaches this machine.</summary>
    public static bool IsUnspecified(IPAddress address)
    {
        var a = Canonical(address);
        return a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);
    }

    /// <summary>Loopback or unspecified: an upstream there is this machine, whatever its interfaces are.</summary>
    public static bool IsThisMachine(IPAddress address) => IsLoopback(address) || IsUnspecified(address);

    /// <summary>169.254.0.0/16 or fe80::/10, where cloud instance metadata and other node-local services answer.</summary>
    public static bool IsLinkLocal(IPAddress address)
    {
        var a = Canonical(address);
        return a.AddressFamily == AddressFamily.InterNetwork ? a.GetAddressBytes() is [169, 254, _, _] : a.IsIPv6LinkLocal;
    }

    /// <summary>Whether every address of <paramref name="network"/> is a loopback address (127.0.0.0/8 or ::1/128).</summary>
    public static bool IsWithinLoopback(IPNetwork network) =>
        network.BaseAddress.AddressFamily == AddressFamily.InterNetwork
            ? network.PrefixLength >= 8 && Ipv4Loopback.Contains(network.BaseAddress)
            : network.PrefixLength == 128 && network.BaseAddress.Equals(IPAddress.IPv6Loopback);

    /// <summary>Whether <paramref name="network"/> contains <paramref name="address"/>, an IPv4-mapped address counted as its IPv4 address.</summary>
    public static bool Contains(IPNetwork network, IPAddress address) => network.Contains(Canonical(address));

    /// <summary>
    /// Whether two listen addresses take a common address on one port, so that only one of them can be bound: equal
    /// (an IPv4-mapped address is its IPv4 address), <c>0.0.0.0</c> and any IPv4 address, <c>::</c> (bound dual-stack)
    /// and any address at all.
    /// </summary>
    public static bool ListenOverlaps(IPAddress a, IPAddress b)
    {
        a = Canonical(a);
        b = Canonical(b);
        return a.Equals(b) || Takes(a, b) || Takes(b, a);

        static bool Takes(IPAddress wildcard, IPAddress other) =>
            wildcard.Equals(IPAddress.IPv6Any) || (wildcard.Equals(IPAddress.Any) && other.AddressFamily == AddressFamily.InterNetwork);
    }

    /// <summary>
    /// An address range as an operator or an admin writes it: CIDR notation (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>), or
    /// a bare address for itself alone (/32 or /128). IPv4-mapped IPv6 ranges are read as their IPv4 range. Otherwise
    /// <paramref name="error"/> says why, quoting the text.
    /// </summary>
    public static bool TryParseNetwork(string? text, out IPNetwork network, [NotNullWhen(false)] out string? error)
    {
        network = default;
        text = text?.Trim() ?? "";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (addressText.Contains('%', StringComparison.Ordinal) || !IPAddress.TryParse(addressText, out var address)
            || (address.AddressFamily == AddressFamily.InterNetwork && addressText.Count(c => c == '.') != 3))
        {
            error = $"'{text}' is not an address range; write CIDR notation such as 10.0.0.0/8 or 2001:db8::/32, or a single address";
            return false;
        }

        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = bits;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            error = $"'{text}' has prefix length '{text[(slash + 1)..]}'; give a number from 0 to {bits}";
            return false;
        }

        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
        {
            (address, prefix) = (address.MapToIPv4(), prefix - 96);
        }

        var masked = Mask(address, prefix);
        if (!masked.Equals(address))
        {
            error = $"'{text}' has bits set after its first {prefix}; the range it means is written {masked}/{prefix}";
            return false;
        }

        network = new IPNetwork(masked, prefix);
        error = null;
        return true;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xff << (8 - keep));
        }

        return new IPAddress(bytes);
    }
}
