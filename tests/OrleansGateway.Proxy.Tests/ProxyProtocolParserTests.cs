using System.Buffers.Binary;
using System.Net;
using System.Text;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy.Tests;

/// <summary>The PROXY protocol parser and writer (haproxy's specification, v1 and v2) on bytes: every case of the table, and fuzzing.</summary>
public sealed class ProxyProtocolParserTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static TheoryData<string, string?> V1Cases => new()
    {
        // line (\r\n appended by the test unless it ends with one), expected "source|destination" or null = Invalid
        { "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443", "203.0.113.7:51234|192.0.2.1:443" },
        { "PROXY TCP6 2001:db8::7 2001:db8::1 51234 443", "[2001:db8::7]:51234|[2001:db8::1]:443" },
        { "PROXY TCP4 0.0.0.0 0.0.0.0 0 65535", "0.0.0.0:0|0.0.0.0:65535" },
        { "PROXY UNKNOWN", "-" },
        { "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535", "-" },
        { "PROXY TCP4 203.0.113.7 192.0.2.1 51234", null },                // a field missing
        { "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443 extra", null },      // a field too many
        { "PROXY TCP4  203.0.113.7 192.0.2.1 51234 443", null },           // two spaces
        { "PROXY UDP4 203.0.113.7 192.0.2.1 51234 443", null },            // not TCP
        { "PROXY TCP4 2001:db8::7 192.0.2.1 51234 443", null },            // IPv6 under TCP4
        { "PROXY TCP6 203.0.113.7 2001:db8::1 51234 443", null },          // IPv4 under TCP6
        { "PROXY TCP4 203.0.113.300 192.0.2.1 51234 443", null },          // not an address
        { "PROXY TCP6 fe80::1%eth0 2001:db8::1 51234 443", null },         // scope id
        { "PROXY TCP4 203.0.113.7 192.0.2.1 65536 443", null },            // port out of range
        { "PROXY TCP4 203.0.113.7 192.0.2.1 0443 443", null },             // leading zero
        { "PROXY TCP4 203.0.113.7 192.0.2.1 -1 443", null },               // sign
        { "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\n", null },          // LF without CR
        { "proxy TCP4 203.0.113.7 192.0.2.1 51234 443", null },            // case
        { "GET / HTTP/1.1", null },                                        // no header at all
        { "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\u0001", null },     // control byte
    };

    [Theory]
    [MemberData(nameof(V1Cases))]
    public void V1(string line, string? expected)
    {
        var bytes = Encoding.ASCII.GetBytes(line.EndsWith('\n') ? line : line + "\r\n");
        var status = ProxyProtocol.TryParse(bytes, out var header, out var consumed, out var problem);
        if (expected is null)
        {
            Assert.Equal(ProxyHeaderStatus.Invalid, status);
            Assert.False(string.IsNullOrEmpty(problem));
            return;
        }

        Assert.Equal(ProxyHeaderStatus.Valid, status);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(1, header.Version);
        Assert.Equal(expected, Describe(header));
    }

    [Fact]
    public void V1_longer_than_107_bytes_is_oversized_and_a_prefix_needs_more()
    {
        var tooLong = Encoding.ASCII.GetBytes("PROXY UNKNOWN " + new string('x', 100) + "\r\n");
        Assert.Equal(ProxyHeaderStatus.Invalid, ProxyProtocol.TryParse(tooLong, out _, out _, out var problem));
        Assert.Contains("107", problem);

        var line = Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n");
        for (var n = 0; n < line.Length; n++)
        {
            Assert.Equal(ProxyHeaderStatus.NeedMoreData, ProxyProtocol.TryParse(line.AsSpan(0, n), out _, out _, out _));
        }

        // What follows the header is the client's, untouched.
        var withData = line.Concat("\x16\x03\x01"u8.ToArray()).ToArray();
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(withData, out _, out var consumed, out _));
        Assert.Equal(line.Length, consumed);
    }

    [Fact]
    public void V1_exactly_107_bytes_is_accepted()
    {
        // PROXY UNKNOWN with filler up to the bound: 107 bytes, CRLF included.
        var line = "PROXY UNKNOWN " + new string('x', 107 - 16) + "\r\n";
        Assert.Equal(107, line.Length);
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(Encoding.ASCII.GetBytes(line), out _, out var consumed, out _));
        Assert.Equal(107, consumed);
    }

    [Fact]
    public void V2_proxy_tcp4_tcp6_with_tlvs_skipped()
    {
        var v4 = V2(0x21, 0x11, [203, 0, 113, 7, 192, 0, 2, 1, 0xC8, 0x22, 0x01, 0xBB], tlvs: [0x04, 0x00, 0x03, 1, 2, 3]);
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(v4, out var h4, out var c4, out _));
        Assert.Equal(v4.Length, c4);
        Assert.Equal("203.0.113.7:51234|192.0.2.1:443", Describe(h4));
        Assert.Equal(2, h4.Version);

        var src6 = IPAddress.Parse("2001:db8::7").GetAddressBytes();
        var dst6 = IPAddress.Parse("2001:db8::1").GetAddressBytes();
        var v6 = V2(0x21, 0x21, [.. src6, .. dst6, 0xC8, 0x22, 0x01, 0xBB]);
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(v6, out var h6, out _, out _));
        Assert.Equal("[2001:db8::7]:51234|[2001:db8::1]:443", Describe(h6));
    }

    [Fact]
    public void V2_local_and_unspec_carry_no_client()
    {
        // LOCAL with addresses (ignored), LOCAL with an odd family (ignored), PROXY UNSPEC.
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(V2(0x20, 0x11, new byte[12]), out var local, out _, out _));
        Assert.Equal("-", Describe(local));
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(V2(0x20, 0x31, new byte[216]), out _, out _, out _));
        Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(V2(0x21, 0x00, []), out var unspec, out var consumed, out _));
        Assert.Equal("-", Describe(unspec));
        Assert.Equal(16, consumed);
    }

    public static TheoryData<string, byte[]> V2Invalid => new()
    {
        { "version 1", V2(0x11, 0x11, new byte[12]) },
        { "version 3", V2(0x31, 0x11, new byte[12]) },
        { "command 2", V2(0x22, 0x11, new byte[12]) },
        { "UDP over IPv4", V2(0x21, 0x12, new byte[12]) },
        { "AF_UNIX", V2(0x21, 0x31, new byte[216]) },
        { "length shorter than the IPv4 addresses", V2(0x21, 0x11, new byte[11]) },
        { "length shorter than the IPv6 addresses", V2(0x21, 0x21, new byte[35]) },
        { "oversized", V2(0x21, 0x11, new byte[ProxyProtocol.MaxV2PayloadLength + 1]) },
        { "announced 65535", [.. Signature, 0x21, 0x11, 0xFF, 0xFF] },
        { "signature broken", [.. Signature[..11], 0x0B, 0x21, 0x11, 0x00, 0x0C, .. new byte[12]] },
    };

    [Theory]
    [MemberData(nameof(V2Invalid))]
    public void V2_malformed(string what, byte[] bytes)
    {
        Assert.True(ProxyHeaderStatus.Invalid == ProxyProtocol.TryParse(bytes, out _, out _, out var problem), what);
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void V2_truncated_needs_more_at_every_length()
    {
        var full = V2(0x21, 0x11, [203, 0, 113, 7, 192, 0, 2, 1, 0xC8, 0x22, 0x01, 0xBB], tlvs: [0x04, 0x00, 0x01, 9]);
        for (var n = 0; n < full.Length; n++)
        {
            Assert.Equal(ProxyHeaderStatus.NeedMoreData, ProxyProtocol.TryParse(full.AsSpan(0, n), out _, out _, out _));
        }
    }

    [Theory]
    [InlineData("203.0.113.7", 51234, "192.0.2.1", 443)]
    [InlineData("2001:db8::7", 51234, "2001:db8::1", 443)]
    [InlineData("::ffff:203.0.113.7", 51234, "192.0.2.1", 443)]   // IPv4-mapped: written TCP4
    [InlineData("203.0.113.7", 51234, "2001:db8::1", 443)]        // mixed: written TCP6, the IPv4 one mapped
    public void Writer_output_parses_back(string source, int sourcePort, string destination, int destinationPort)
    {
        var src = new IPEndPoint(IPAddress.Parse(source), sourcePort);
        var dst = new IPEndPoint(IPAddress.Parse(destination), destinationPort);
        foreach (var version in new[] { ProxyProtocolVersion.V1, ProxyProtocolVersion.V2 })
        {
            var bytes = ProxyProtocol.Write(version, src, dst);
            Assert.Equal(ProxyHeaderStatus.Valid, ProxyProtocol.TryParse(bytes, out var header, out var consumed, out var problem));
            Assert.True(problem is null, problem);
            Assert.Equal(bytes.Length, consumed);
            Assert.Equal(sourcePort, header.Source!.Port);
            Assert.Equal(destinationPort, header.Destination!.Port);
            Assert.Equal(Unmapped(src.Address), Unmapped(header.Source.Address));
            Assert.Equal(Unmapped(dst.Address), Unmapped(header.Destination.Address));
            Assert.True(bytes.Length <= ProxyProtocol.MaxV1Length);
        }

        Assert.StartsWith(source.Contains(':') && !source.StartsWith("::ffff:", StringComparison.Ordinal) || destination.Contains(':') ? "PROXY TCP6 " : "PROXY TCP4 ",
            Encoding.ASCII.GetString(ProxyProtocol.Write(ProxyProtocolVersion.V1, src, dst)));
    }

    /// <summary>
    /// Random bytes, and valid headers with bytes flipped, cut or appended: the parser never throws, never claims more
    /// than it was given or than the bound, and a Valid answer always carries a header of version 1 or 2.
    /// </summary>
    [Fact]
    public void Fuzz_never_crashes_and_stays_bounded()
    {
        var random = new Random(19);
        byte[][] seeds =
        [
            Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n"),
            Encoding.ASCII.GetBytes("PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n"),
            Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\n"),
            V2(0x21, 0x11, [203, 0, 113, 7, 192, 0, 2, 1, 0xC8, 0x22, 0x01, 0xBB], tlvs: [0x04, 0x00, 0x01, 9]),
            V2(0x21, 0x21, new byte[36]),
            V2(0x20, 0x00, []),
        ];
        for (var i = 0; i < 200_000; i++)
        {
            byte[] input;
            if (i % 4 == 0)
            {
                input = new byte[random.Next(0, 300)];
                random.NextBytes(input);
            }
            else
            {
                var seed = seeds[random.Next(seeds.Length)];
                input = [.. seed, .. new byte[random.Next(0, 40)]];
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }

                input = input[..random.Next(0, input.Length + 1)];
            }

            var status = ProxyProtocol.TryParse(input, out var header, out var consumed, out var problem);
            switch (status)
            {
                case ProxyHeaderStatus.Valid:
                    Assert.InRange(consumed, 1, Math.Min(input.Length, ProxyProtocol.MaxHeaderLength));
                    Assert.InRange(header.Version, 1, 2);
                    Assert.Equal(header.Source is null, header.Destination is null);
                    break;
                case ProxyHeaderStatus.Invalid:
                    Assert.False(string.IsNullOrEmpty(problem));
                    break;
                default:
                    Assert.True(input.Length < ProxyProtocol.MaxHeaderLength);
                    break;
            }
        }
    }

    private static IPAddress Unmapped(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    private static string Describe(ProxyHeader header) => header.Source is null ? "-" : $"{header.Source}|{header.Destination}";

    private static byte[] V2(byte versionCommand, byte family, byte[] addresses, byte[]? tlvs = null)
    {
        tlvs ??= [];
        var header = new byte[16 + addresses.Length + tlvs.Length];
        Signature.CopyTo(header, 0);
        header[12] = versionCommand;
        header[13] = family;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(addresses.Length + tlvs.Length));
        addresses.CopyTo(header, 16);
        tlvs.CopyTo(header, 16 + addresses.Length);
        return header;
    }
}
