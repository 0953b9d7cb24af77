using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>What <see cref="ProxyProtocol.TryParse"/> found at the start of a connection.</summary>
internal enum ProxyHeaderStatus
{
    /// <summary>A complete, valid header; the bytes after it belong to the client's stream.</summary>
    Valid,

    /// <summary>Everything so far is a valid beginning of a header: read more (within the bound and the deadline).</summary>
    NeedMoreData,

    /// <summary>Not a PROXY header, a malformed one, or one longer than the bound: the connection is closed.</summary>
    Invalid,
}

/// <summary>
/// A parsed PROXY protocol header. <see cref="Source"/> and <see cref="Destination"/> are null for a v2 <c>LOCAL</c>
/// command and for <c>UNKNOWN</c> / <c>UNSPEC</c>: the sender speaks for itself, and the connection's own addresses stand.
/// </summary>
internal readonly record struct ProxyHeader(int Version, IPEndPoint? Source, IPEndPoint? Destination);

/// <summary>
/// The PROXY protocol, versions 1 and 2 (haproxy's specification, "The PROXY protocol", versions 1 and 2), as a pure
/// parser and writer over bytes: docs/tcpmapping-semantics.md, "Extensions". Reading from a socket and the deadline are
/// <see cref="ProxyHeaderReader"/>'s.
/// </summary>
internal static class ProxyProtocol
{
    /// <summary>A v1 line is at most 107 bytes, CRLF included (the specification's bound).</summary>
    public const int MaxV1Length = 107;

    /// <summary>
    /// The most address and TLV bytes a v2 header may announce. The specification allows 65,535; senders in practice
    /// (haproxy, cloud load balancers: addresses plus a few TLVs such as a VPC endpoint or Private Link id) use well
    /// under 300. A larger announcement is refused as oversized, so a peer cannot make the gateway buffer 64 KiB.
    /// </summary>
    public const int MaxV2PayloadLength = 2048;

    /// <summary>The longest header accepted, either version: the buffer a reader needs.</summary>
    public const int MaxHeaderLength = V2FixedLength + MaxV2PayloadLength;

    private const int V2FixedLength = 16;

    /// <summary>The v2 signature: <c>\r\n\r\n\0\r\nQUIT\n</c>.</summary>
    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>
    /// Parses the header at the start of <paramref name="data"/>. <paramref name="consumed"/> is its length when
    /// <see cref="ProxyHeaderStatus.Valid"/>; <paramref name="problem"/> says what is wrong when
    /// <see cref="ProxyHeaderStatus.Invalid"/>. Never reads past <see cref="MaxHeaderLength"/> bytes and never throws.
    /// </summary>
    public static ProxyHeaderStatus TryParse(ReadOnlySpan<byte> data, out ProxyHeader header, out int consumed, out string? problem)
    {
        header = default;
        consumed = 0;
        problem = null;
        if (data.IsEmpty)
        {
            return ProxyHeaderStatus.NeedMoreData;
        }

        if (data[0] == V2Signature[0])
        {
            var n = Math.Min(data.Length, V2Signature.Length);
            if (!data[..n].SequenceEqual(V2Signature[..n]))
            {
                problem = "no PROXY protocol header: the first bytes are neither \"PROXY \" (v1) nor the v2 signature";
                return ProxyHeaderStatus.Invalid;
            }

            return ParseV2(data, out header, out consumed, out problem);
        }

        var m = Math.Min(data.Length, V1Prefix.Length);
        if (!data[..m].SequenceEqual(V1Prefix[..m]))
        {
            problem = "no PROXY protocol header: the first bytes are neither \"PROXY \" (v1) nor the v2 signature";
            return ProxyHeaderStatus.Invalid;
        }

        return ParseV1(data, out header, out consumed, out problem);
    }

    private static ProxyHeaderStatus ParseV1(ReadOnlySpan<byte> data, out ProxyHeader header, out int consumed, out string? problem)
    {
        header = default;
        consumed = 0;
        problem = null;
        var window = data[..Math.Min(data.Length, MaxV1Length)];
        var lf = window.IndexOf((byte)'\n');
        if (lf < 0)
        {
            if (data.Length >= MaxV1Length)
            {
                problem = $"PROXY v1 header longer than {MaxV1Length} bytes (no CRLF)";
                return ProxyHeaderStatus.Invalid;
            }

            return ProxyHeaderStatus.NeedMoreData;
        }

        if (lf == 0 || window[lf - 1] != '\r')
        {
            problem = "PROXY v1 header does not end with CRLF";
            return ProxyHeaderStatus.Invalid;
        }

        var line = window[..(lf - 1)];
        foreach (var b in line)
        {
            if (b is < 0x20 or > 0x7E)
            {
                problem = "PROXY v1 header has a byte that is not printable ASCII";
                return ProxyHeaderStatus.Invalid;
            }
        }

        // "PROXY" SP protocol [SP src SP dst SP sport SP dport]; single spaces only.
        Span<Range> parts = stackalloc Range[7];
        var count = SplitWords(line, parts);
        if (count >= 2 && line[parts[1]].SequenceEqual("UNKNOWN"u8))
        {
            // The sender does not know the addresses: the rest of the line is ignored (specification, 2.1).
            header = new ProxyHeader(1, null, null);
            consumed = lf + 1;
            return ProxyHeaderStatus.Valid;
        }

        if (count != 6)
        {
            problem = "PROXY v1 header must be \"PROXY TCP4|TCP6 source destination source-port destination-port\"";
            return ProxyHeaderStatus.Invalid;
        }

        var family = line[parts[1]] switch
        {
            var p when p.SequenceEqual("TCP4"u8) => AddressFamily.InterNetwork,
            var p when p.SequenceEqual("TCP6"u8) => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown)
        {
            problem = "PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN";
            return ProxyHeaderStatus.Invalid;
        }

        if (!TryV1Address(line[parts[2]], family, out var source) || !TryV1Address(line[parts[3]], family, out var destination))
        {
            problem = $"PROXY v1 address is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address";
            return ProxyHeaderStatus.Invalid;
        }

        if (!TryV1Port(line[parts[4]], out var sourcePort) || !TryV1Port(line[parts[5]], out var destinationPort))
        {
            problem = "PROXY v1 port is not a number from 0 to 65535";
            return ProxyHeaderStatus.Invalid;
        }

        header = new ProxyHeader(1, new IPEndPoint(source!, sourcePort), new IPEndPoint(destination!, destinationPort));
        consumed = lf + 1;
        return ProxyHeaderStatus.Valid;
    }

    /// <summary>Single-space separated words; the last range takes the rest when there are more than <paramref name="parts"/> holds.</summary>
    private static int SplitWords(ReadOnlySpan<byte> line, Span<Range> parts)
    {
        var count = 0;
        var start = 0;
        while (count < parts.Length - 1)
        {
            var space = line[start..].IndexOf((byte)' ');
            if (space < 0)
            {
                break;
            }

            parts[count++] = new Range(start, start + space);
            start += space + 1;
        }

        parts[count++] = new Range(start, line.Length);
        return count;
    }

    private static bool TryV1Address(ReadOnlySpan<byte> text, AddressFamily family, out IPAddress? address)
    {
        address = null;
        Span<char> chars = stackalloc char[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            chars[i] = (char)text[i];
        }

        // A scope id (%eth0) or brackets are no address in a header.
        return text.Length > 0 && text.IndexOfAny("%[]/"u8) < 0 && IPAddress.TryParse(chars, out address) && address.AddressFamily == family;
    }

    private static bool TryV1Port(ReadOnlySpan<byte> text, out int port)
    {
        port = 0;
        if (text.Length is 0 or > 5 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            port = (port * 10) + (b - '0');
        }

        return port <= 65535;
    }

    private static ProxyHeaderStatus ParseV2(ReadOnlySpan<byte> data, out ProxyHeader header, out int consumed, out string? problem)
    {
        header = default;
        consumed = 0;
        problem = null;
        if (data.Length < V2FixedLength)
        {
            return ProxyHeaderStatus.NeedMoreData;
        }

        var versionCommand = data[12];
        if (versionCommand >> 4 != 2)
        {
            problem = $"PROXY v2 header has version {versionCommand >> 4}, not 2";
            return ProxyHeaderStatus.Invalid;
        }

        var command = versionCommand & 0x0F;
        if (command > 1)
        {
            problem = $"PROXY v2 command {command} is neither LOCAL (0) nor PROXY (1)";
            return ProxyHeaderStatus.Invalid;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (length > MaxV2PayloadLength)
        {
            problem = $"PROXY v2 header announces {length} bytes of addresses and TLVs; at most {MaxV2PayloadLength} are accepted";
            return ProxyHeaderStatus.Invalid;
        }

        var familyProtocol = data[13];
        int addressLength;
        switch (familyProtocol)
        {
            case 0x00: addressLength = 0; break;   // UNSPEC
            case 0x11: addressLength = 12; break;  // TCP over IPv4
            case 0x21: addressLength = 36; break;  // TCP over IPv6
            default:
                if (command == 1)
                {
                    problem = $"PROXY v2 family/protocol 0x{familyProtocol:X2} is not TCP4, TCP6 or UNSPEC";
                    return ProxyHeaderStatus.Invalid;
                }

                addressLength = 0; // LOCAL: the addresses are ignored whatever they are
                break;
        }

        if (length < addressLength)
        {
            problem = $"PROXY v2 header announces {length} bytes, too few for its addresses ({addressLength})";
            return ProxyHeaderStatus.Invalid;
        }

        if (data.Length < V2FixedLength + length)
        {
            return ProxyHeaderStatus.NeedMoreData;
        }

        consumed = V2FixedLength + length;

        // LOCAL (health checks by the sender itself) and UNSPEC carry no client: the connection's own addresses stand.
        // TLVs after the addresses are skipped: the gateway uses none of them.
        if (command == 0 || addressLength == 0)
        {
            header = new ProxyHeader(2, null, null);
            return ProxyHeaderStatus.Valid;
        }

        var payload = data.Slice(V2FixedLength, length);
        var size = addressLength == 12 ? 4 : 16;
        var source = new IPAddress(payload[..size]);
        var destination = new IPAddress(payload.Slice(size, size));
        var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(payload[(2 * size)..]);
        var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(payload[((2 * size) + 2)..]);
        header = new ProxyHeader(2, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort));
        return ProxyHeaderStatus.Valid;
    }

    /// <summary>
    /// The header a mapping annotated <c>orleansgateway.io/proxy-protocol</c> sends its upstream: <c>TCP4</c> when both
    /// addresses are IPv4 (IPv4-mapped IPv6 counts as IPv4), else <c>TCP6</c> (an IPv4 one written IPv4-mapped).
    /// </summary>
    public static byte[] Write(ProxyProtocolVersion version, IPEndPoint source, IPEndPoint destination)
    {
        var src = Unmap(source.Address);
        var dst = Unmap(destination.Address);
        var v4 = src.AddressFamily == AddressFamily.InterNetwork && dst.AddressFamily == AddressFamily.InterNetwork;
        if (!v4)
        {
            src = src.MapToIPv6();
            dst = dst.MapToIPv6();
        }

        if (version == ProxyProtocolVersion.V1)
        {
            return Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"PROXY {(v4 ? "TCP4" : "TCP6")} {src} {dst} {source.Port} {destination.Port}\r\n"));
        }

        var size = v4 ? 4 : 16;
        var header = new byte[V2FixedLength + (2 * size) + 4];
        V2Signature.CopyTo(header);
        header[12] = 0x21; // version 2, PROXY
        header[13] = v4 ? (byte)0x11 : (byte)0x21;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)((2 * size) + 4));
        src.TryWriteBytes(header.AsSpan(V2FixedLength, size), out _);
        dst.TryWriteBytes(header.AsSpan(V2FixedLength + size, size), out _);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(V2FixedLength + (2 * size)), (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(V2FixedLength + (2 * size) + 2), (ushort)destination.Port);
        return header;
    }

    private static IPAddress Unmap(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
