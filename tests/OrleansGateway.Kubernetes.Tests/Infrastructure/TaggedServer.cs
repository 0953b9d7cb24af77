using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>
/// A TCP server on 127.0.0.1 that says which it is: on every connection it first writes its tag and a newline, then
/// echoes every byte it reads until the client closes. Several stand for the endpoints of one Service.
/// </summary>
public sealed class TaggedServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private TaggedServer(string tag)
    {
        Tag = tag;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Tag { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static TaggedServer Start(string tag) => new(tag);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes(Tag + "\n"), SocketFlags.None, _stop.Token);
                var buffer = new byte[4096];
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }

                socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The test ended or the client went away.
            }
        }
    }
}

/// <summary>One client connection through the gateway to a <see cref="TaggedServer"/>: which one answered, and round trips on it.</summary>
public sealed class TaggedClient : IAsyncDisposable
{
    private readonly TcpClient _client = new();
    private StreamReader _reader = null!;
    private Stream _stream = null!;

    public string Tag { get; private set; } = "";

    /// <summary>Connects to the gateway's <paramref name="port"/> and reads the tag; null when refused or closed first.</summary>
    public static async Task<TaggedClient?> TryConnectAsync(int port)
    {
        var client = new TaggedClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client._client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            client._stream = client._client.GetStream();
            client._reader = new StreamReader(client._stream, Encoding.ASCII);
            client.Tag = await client._reader.ReadLineAsync(timeout.Token) ?? "";
            if (client.Tag.Length > 0)
            {
                return client;
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            // Refused, reset or silent: no tag.
        }

        await client.DisposeAsync();
        return null;
    }

    /// <summary>Sends a line on this connection and returns the line echoed back.</summary>
    public async Task<string?> RoundTripAsync(string line)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), timeout.Token);
        return await _reader.ReadLineAsync(timeout.Token);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
