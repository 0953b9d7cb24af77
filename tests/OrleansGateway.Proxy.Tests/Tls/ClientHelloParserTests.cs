using System.Security.Authentication;
using System.Text;
using OrleansGateway.Proxy.Tls;
using static OrleansGateway.Proxy.Tests.Tls.ClientHelloSamples;

namespace OrleansGateway.Proxy.Tests.Tls;

public sealed class ClientHelloParserTests
{
    private static ClientHelloInfo AssertFound(ReadOnlySpan<byte> data)
    {
        var status = ClientHelloParser.TryParse(data, out var info);
        Assert.Equal(ClientHelloStatus.Found, status);
        Assert.NotNull(info);
        return info;
    }

    private static void AssertStatus(ClientHelloStatus expected, ReadOnlySpan<byte> data)
    {
        var status = ClientHelloParser.TryParse(data, out var info);
        Assert.Equal(expected, status);
        Assert.Null(info);
    }

    [Fact]
    public async Task Tls13_hello_with_sni_and_alpn()
    {
        var hello = await CaptureAsync("Gateway.Example.com", SslProtocols.Tls13, "h2", "http/1.1");

        var info = AssertFound(hello);

        Assert.Equal("gateway.example.com", info.ServerName);
        Assert.Equal<string>(["h2", "http/1.1"], info.AlpnProtocols);
        Assert.Equal(0x0303, info.LegacyVersion);
    }

    [Fact]
    public async Task Tls12_hello_with_sni_and_no_alpn()
    {
        var hello = await CaptureAsync("db.example.com", SslProtocols.Tls12);

        var info = AssertFound(hello);

        Assert.Equal("db.example.com", info.ServerName);
        Assert.Empty(info.AlpnProtocols);
        Assert.Equal(0x0303, info.LegacyVersion);
    }

    [Fact]
    public async Task Hello_without_sni_has_null_server_name()
    {
        var hello = await CaptureAsync("", SslProtocols.Tls12 | SslProtocols.Tls13, "h2");

        var info = AssertFound(hello);

        Assert.Null(info.ServerName);
        Assert.Equal<string>(["h2"], info.AlpnProtocols);
    }

    [Fact]
    public async Task Fed_byte_by_byte_needs_more_data_until_the_last_byte()
    {
        var hello = await CaptureAsync("a.example.com", SslProtocols.Tls13, "h2");

        for (var length = 0; length < hello.Length; length++)
        {
            AssertStatus(ClientHelloStatus.NeedMoreData, hello.AsSpan(0, length));
        }

        Assert.Equal("a.example.com", AssertFound(hello).ServerName);
    }

    [Fact]
    public async Task Refragmented_into_two_records_at_every_split_point()
    {
        var hello = await CaptureAsync("split.example.com", SslProtocols.Tls13, "h2", "http/1.1");
        var messageLength = hello.Length - 5;

        for (var split = 1; split < messageLength; split++)
        {
            var fragmented = Refragment(hello, split);

            var info = AssertFound(fragmented);
            Assert.Equal("split.example.com", info.ServerName);
            Assert.Equal<string>(["h2", "http/1.1"], info.AlpnProtocols);
            AssertStatus(ClientHelloStatus.NeedMoreData, fragmented.AsSpan(0, fragmented.Length - 1));
        }
    }

    [Fact]
    public async Task Refragmented_into_one_byte_records_and_into_three_records()
    {
        var hello = await CaptureAsync("tiny.example.com", SslProtocols.Tls12);
        var messageLength = hello.Length - 5;

        var oneByte = Refragment(hello, [.. Enumerable.Range(1, messageLength - 1)]);
        Assert.Equal("tiny.example.com", AssertFound(oneByte).ServerName);
        for (var length = 0; length < oneByte.Length; length++)
        {
            AssertStatus(ClientHelloStatus.NeedMoreData, oneByte.AsSpan(0, length));
        }

        for (var first = 1; first < messageLength - 1; first += 7)
        {
            var three = Refragment(hello, first, (first + messageLength) / 2);
            Assert.Equal("tiny.example.com", AssertFound(three).ServerName);
        }
    }

    [Fact]
    public async Task Bytes_after_the_hello_do_not_change_the_result()
    {
        var hello = await CaptureAsync("early.example.com", SslProtocols.Tls13);

        var info = AssertFound([.. hello, 0x17, 0x03, 0x03, 0x00, 0x10, 1, 2, 3]);

        Assert.Equal("early.example.com", info.ServerName);
        Assert.Equal("early.example.com", AssertFound([.. hello, .. new byte[ClientHelloParser.MaxBytes + 100]]).ServerName);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n")]
    [InlineData("G")]
    [InlineData("\u0016\u0002")]                    // handshake type byte, but not a TLS record version
    [InlineData("\u0080\u002e\u0001\u0003\u0001")]  // SSLv2-compatible hello
    public void Plaintext_is_not_tls(string text)
    {
        AssertStatus(ClientHelloStatus.NotTls, Encoding.Latin1.GetBytes(text));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x16 })]
    [InlineData(new byte[] { 0x16, 0x03, 0x01 })]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x01, 0x00, 0x01 })]
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x01, 0x01 })] // one-byte record: the handshake header continues later
    public void Plausible_beginnings_need_more_data(byte[] data)
    {
        AssertStatus(ClientHelloStatus.NeedMoreData, data);
    }

    [Fact]
    public void Hello_without_extensions_block_is_found_without_sni()
    {
        var info = AssertFound(Build(withExtensionsBlock: false));

        Assert.Null(info.ServerName);
        Assert.Empty(info.AlpnProtocols);
    }

    [Theory]
    [InlineData("WWW.Example.COM.", "www.example.com")]
    [InlineData("_acme-challenge.example.com", "_acme-challenge.example.com")]
    [InlineData("localhost", "localhost")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    public void Sni_is_lower_cased_without_trailing_dot(string sent, string expected)
    {
        Assert.Equal(expected, AssertFound(Build(Sni(sent), Alpn("h2"))).ServerName);
    }

    [Fact]
    public void Other_sni_name_types_are_skipped()
    {
        var info = AssertFound(Build(Sni((7, [1, 2, 3]), (0, "x.example.com"u8.ToArray()))));

        Assert.Equal("x.example.com", info.ServerName);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a..example.com")]
    [InlineData(".example.com")]
    [InlineData("-a.example.com")]
    [InlineData("a-.example.com")]
    [InlineData("a b.example.com")]
    [InlineData("bücher.example")]
    [InlineData("a/b")]
    [InlineData("example.com..")]
    public void Sni_that_is_not_a_dns_name_is_invalid(string hostName)
    {
        AssertStatus(ClientHelloStatus.Invalid, Build(Sni(hostName)));
    }

    [Fact]
    public void Sni_label_and_name_length_limits()
    {
        var label63 = new string('a', 63);
        Assert.Equal($"{label63}.com", AssertFound(Build(Sni($"{label63}.com"))).ServerName);
        AssertStatus(ClientHelloStatus.Invalid, Build(Sni($"{label63}a.com")));

        var name253 = string.Join('.', Enumerable.Repeat(new string('b', 49), 5)) + ".cde"; // 5 * 49 + 4 + 4 = 253
        Assert.Equal(253, name253.Length);
        Assert.Equal(name253, AssertFound(Build(Sni(name253))).ServerName);
        AssertStatus(ClientHelloStatus.Invalid, Build(Sni(name253 + "e")));
    }

    [Fact]
    public void Duplicate_or_ambiguous_extensions_are_invalid()
    {
        AssertStatus(ClientHelloStatus.Invalid, Build(Sni("a.example.com"), Sni("b.example.com")));
        AssertStatus(ClientHelloStatus.Invalid, Build(Alpn("h2"), Alpn("http/1.1")));
        AssertStatus(ClientHelloStatus.Invalid, Build(Sni((0, "a.example.com"u8.ToArray()), (0, "b.example.com"u8.ToArray()))));
    }

    [Fact]
    public void Malformed_extension_contents_are_invalid()
    {
        AssertStatus(ClientHelloStatus.Invalid, Build((0, [])));                         // empty server_name from a client
        AssertStatus(ClientHelloStatus.Invalid, Build((0, [0x00, 0x09, 0x00, 0x00, 0x01, (byte)'a'])));  // list length overruns
        AssertStatus(ClientHelloStatus.Invalid, Build((16, [0x00, 0x03, 0x02, (byte)'h', (byte)'2', 0x00])));  // trailing byte after the list
        AssertStatus(ClientHelloStatus.Invalid, Build((16, [0x00, 0x01, 0x00])));        // empty protocol id
        AssertStatus(ClientHelloStatus.Invalid, Build((16, [0x00, 0x00])));              // empty protocol list
    }

    [Fact]
    public void Inconsistent_extensions_block_length_is_invalid()
    {
        var hello = Build(Sni("a.example.com"));
        var extensionsLengthOffset = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;

        var longer = (byte[])hello.Clone();
        longer[extensionsLengthOffset + 1]++;
        AssertStatus(ClientHelloStatus.Invalid, longer);

        var shorter = (byte[])hello.Clone();
        shorter[extensionsLengthOffset + 1]--;
        AssertStatus(ClientHelloStatus.Invalid, shorter);
    }

    [Fact]
    public async Task Wrong_handshake_type_and_bad_record_lengths_are_invalid()
    {
        var hello = await CaptureAsync("x.example.com", SslProtocols.Tls13);

        var serverHello = (byte[])hello.Clone();
        serverHello[5] = 0x02;
        AssertStatus(ClientHelloStatus.Invalid, serverHello);
        AssertStatus(ClientHelloStatus.Invalid, serverHello.AsSpan(0, 6));  // decided on the first handshake byte

        AssertStatus(ClientHelloStatus.Invalid, [0x16, 0x03, 0x01, 0x00, 0x00]);          // empty record
        AssertStatus(ClientHelloStatus.Invalid, [0x16, 0x03, 0x01, 0x40, 0x01]);          // 16385 > 2^14
    }

    [Fact]
    public async Task Record_type_change_in_the_middle_of_the_hello_is_invalid()
    {
        var hello = await CaptureAsync("x.example.com", SslProtocols.Tls13);
        var fragmented = Refragment(hello, 40);
        var secondRecord = 5 + 40;

        var alert = (byte[])fragmented.Clone();
        alert[secondRecord] = 0x15;
        AssertStatus(ClientHelloStatus.Invalid, alert);
        AssertStatus(ClientHelloStatus.Invalid, alert.AsSpan(0, secondRecord + 1));

        var badVersion = (byte[])fragmented.Clone();
        badVersion[secondRecord + 1] = 0x02;
        AssertStatus(ClientHelloStatus.Invalid, badVersion);
    }

    [Fact]
    public async Task Handshake_length_that_overruns_the_record_waits_then_fails_on_the_next_record()
    {
        var hello = await CaptureAsync("x.example.com", SslProtocols.Tls13);
        var longer = (byte[])hello.Clone();
        longer[8]++;  // the message claims one byte more than the record holds

        AssertStatus(ClientHelloStatus.NeedMoreData, longer);
        AssertStatus(ClientHelloStatus.Invalid, [.. longer, 0x17, 0x03, 0x03, 0x00, 0x01, 0x00]);
    }

    [Fact]
    public void Hello_that_cannot_fit_in_max_bytes_is_invalid_at_once()
    {
        // A 16,380-byte handshake body in a full record would end at byte 16,389 > MaxBytes.
        AssertStatus(ClientHelloStatus.Invalid, [0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc]);

        // The same message split into 1,000-byte records: still waiting at first, refused once it would overflow.
        var records = new MemoryStream();
        records.Write([0x16, 0x03, 0x01, 0x03, 0xe8, 0x01, 0x00, 0x3c, 0x00]);  // body 15,360 bytes
        records.Write(new byte[996]);
        AssertStatus(ClientHelloStatus.NeedMoreData, records.ToArray());
        for (var i = 0; i < 20 && records.Length <= ClientHelloParser.MaxBytes; i++)
        {
            WriteRecord(records, 0x16, new byte[1000]);
        }

        AssertStatus(ClientHelloStatus.Invalid, records.ToArray());
    }

    [Fact]
    public void More_than_max_bytes_without_a_complete_hello_is_invalid()
    {
        // Small records of a message that fits the limit on paper, but record overhead pushes it past MaxBytes.
        var records = new MemoryStream();
        records.Write([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x3f, 0x00]);  // body 16,128 bytes
        while (records.Length <= ClientHelloParser.MaxBytes)
        {
            WriteRecord(records, 0x16, new byte[10]);
        }

        AssertStatus(ClientHelloStatus.Invalid, records.ToArray());
    }
}
