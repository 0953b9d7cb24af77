using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Bench.Scale;

/// <summary>A client connection through the proxy (TLS with SNI when <see cref="Sni"/> is set) that reads the greeting, then echoes.</summary>
internal sealed class BenchConnection : IAsyncDisposable
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly byte[] _probe = new byte[16];
    private readonly byte[] _reply = new byte[16];

    private BenchConnection(TcpClient client, Stream stream, string greeting)
    {
        _client = client;
        _stream = stream;
        Greeting = greeting;
    }

    /// <summary>The upstream's name, as it greeted this connection.</summary>
    public string Greeting { get; }

    public static async Task<BenchConnection> OpenAsync(int port, string? sni, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(IoTimeout);
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
            Stream stream = client.GetStream();
            if (sni is not null)
            {
                // The bench's certificates are self-signed; what is measured is routing, not trust.
                var tls = new SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, timeout.Token).ConfigureAwait(false);
                stream = tls;
            }

            var greeting = await ReadLineAsync(stream, timeout.Token).ConfigureAwait(false);
            return new BenchConnection(client, stream, greeting);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>One round trip; false when the connection was dropped or the echo is wrong.</summary>
    public async Task<bool> EchoAsync(int sequence, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(IoTimeout);
        BitConverter.TryWriteBytes(_probe, sequence);
        try
        {
            await _stream.WriteAsync(_probe, timeout.Token).ConfigureAwait(false);
            await _stream.ReadExactlyAsync(_reply, timeout.Token).ConfigureAwait(false);
            return _reply.AsSpan().SequenceEqual(_probe);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or EndOfStreamException)
        {
            return false;
        }
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await stream.ReadExactlyAsync(one, cancellationToken).ConfigureAwait(false);
            if (one[0] == (byte)'\n')
            {
                return text.ToString();
            }

            text.Append((char)one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }
}
