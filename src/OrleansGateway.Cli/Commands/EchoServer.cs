using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Cli.Commands;

/// <summary>
/// A TCP echo server for trials and tests: every byte read is written back; when the client half-closes, the
/// server finishes writing and half-closes too, so <c>printf hello | nc -N</c> sees its bytes and then EOF.
/// </summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private EchoServer(TcpListener listener)
    {
        _listener = listener;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Binds at once (port 0 picks a free port) and serves until disposed.</summary>
    public static EchoServer Start(IPEndPoint endpoint)
    {
        var listener = new TcpListener(endpoint);
        listener.Start();
        return new EchoServer(listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = EchoAsync(client, _stop.Token);
        }
    }

    private static async Task EchoAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }

                client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client went away or the server stops: nothing left to echo.
            }
        }
    }
}
