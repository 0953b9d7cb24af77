using System.Buffers.Binary;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;

namespace OrleansGateway.Proxy.Tests.Tls;

/// <summary>Real ClientHellos written by <see cref="SslStream"/>, and hand-built ones for cases SslStream never sends.</summary>
internal static class ClientHelloSamples
{
    /// <summary>Runs a real client handshake against a stream that records what is written and answers EOF.</summary>
    public static async Task<byte[]> CaptureAsync(string targetHost, SslProtocols protocols, params string[] alpn)
    {
        var capture = new CaptureStream();
        await using var ssl = new SslStream(capture, leaveInnerStreamOpen: true);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = protocols,
            ApplicationProtocols = alpn.Length == 0 ? null : [.. alpn.Select(p => new SslApplicationProtocol(p))],
        };
        try
        {
            await ssl.AuthenticateAsClientAsync(options);
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            // Expected: the "server" closed right after the ClientHello.
        }

        return capture.Written;
    }

    /// <summary>Cuts the handshake message of a single-record ClientHello into records at the given offsets.</summary>
    public static byte[] Refragment(byte[] singleRecord, params int[] splits)
    {
        var message = singleRecord.AsSpan(5, BinaryPrimitives.ReadUInt16BigEndian(singleRecord.AsSpan(3)));
        var output = new MemoryStream();
        var start = 0;
        foreach (var end in splits.Append(message.Length))
        {
            WriteRecord(output, 0x16, message[start..end]);
            start = end;
        }

        return output.ToArray();
    }

    public static void WriteRecord(Stream output, byte type, ReadOnlySpan<byte> fragment)
    {
        output.WriteByte(type);
        output.WriteByte(3);
        output.WriteByte(1);
        output.WriteByte((byte)(fragment.Length >> 8));
        output.WriteByte((byte)fragment.Length);
        output.Write(fragment);
    }

    /// <summary>A ClientHello with the given extensions (type, content), in one record.</summary>
    public static byte[] Build(params (ushort Type, byte[] Content)[] extensions) => Build(withExtensionsBlock: true, extensions);

    public static byte[] Build(bool withExtensionsBlock, params (ushort Type, byte[] Content)[] extensions)
    {
        var body = new MemoryStream();
        body.Write([0x03, 0x03]);
        body.Write(new byte[32]);                 // random
        body.WriteByte(32);
        body.Write(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        body.Write([0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]);
        body.Write([0x01, 0x00]);                 // null compression
        if (withExtensionsBlock)
        {
            var block = new MemoryStream();
            foreach (var (type, content) in extensions)
            {
                WriteUInt16(block, type);
                WriteUInt16(block, content.Length);
                block.Write(content);
            }

            WriteUInt16(body, (int)block.Length);
            block.WriteTo(body);
        }

        var message = new MemoryStream();
        message.WriteByte(0x01);
        message.Write([(byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length]);
        body.WriteTo(message);

        var record = new MemoryStream();
        WriteRecord(record, 0x16, message.ToArray());
        return record.ToArray();
    }

    public static (ushort, byte[]) Sni(params (byte Type, byte[] Name)[] names)
    {
        var list = new MemoryStream();
        foreach (var (type, name) in names)
        {
            list.WriteByte(type);
            WriteUInt16(list, name.Length);
            list.Write(name);
        }

        var content = new MemoryStream();
        WriteUInt16(content, (int)list.Length);
        list.WriteTo(content);
        return (0, content.ToArray());
    }

    public static (ushort, byte[]) Sni(string hostName) => Sni((0, Encoding.UTF8.GetBytes(hostName)));

    public static (ushort, byte[]) Alpn(params string[] protocols)
    {
        var list = new MemoryStream();
        foreach (var protocol in protocols)
        {
            list.WriteByte((byte)protocol.Length);
            list.Write(Encoding.ASCII.GetBytes(protocol));
        }

        var content = new MemoryStream();
        WriteUInt16(content, (int)list.Length);
        list.WriteTo(content);
        return (16, content.ToArray());
    }

    private static void WriteUInt16(Stream stream, int value)
    {
        stream.WriteByte((byte)(value >> 8));
        stream.WriteByte((byte)value);
    }

    private sealed class CaptureStream : Stream
    {
        private readonly MemoryStream _written = new();

        public byte[] Written => _written.ToArray();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => 0;
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);
        public override void Write(byte[] buffer, int offset, int count) => _written.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
