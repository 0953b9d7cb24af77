using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Bench;

/// <summary>
/// An upstream that writes its name on accept, then either closes (<c>echo: false</c>) or echoes. A client that
/// reads the name through an edge knows which upstream the edge routed it to, so a changed <c>service</c> is observed
/// on the wire, not only in the edge's plan; the echo keeps established connections observable. Linked into the
/// propagation and scale benches.
/// </summary>
internal sealed class GreetingUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _greeting;
    private readonly bool _echo;
    private readonly Task _accepting;

    public GreetingUpstream(string name, bool echo)
    {
        Name = name;
        _greeting = Encoding.ASCII.GetBytes(name + "\n");
        _echo = echo;
        _listener.Start(1024);
        _accepting = AcceptAsync(_stop.Token);
    }

    public string Name { get; }

    /// <summary>The TCPMapping <c>service</c> that reaches this upstream.</summary>
    public string Service => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(client, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        {
            try
            {
                await client.SendAsync(_greeting, cancellationToken).ConfigureAwait(false);
                if (!_echo)
                {
                    client.Shutdown(SocketShutdown.Send);
                    return;
                }

                var buffer = new byte[4096];
                int read;
                while ((read = await client.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await client.SendAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                // The proxy or the bench closed it; the client side reports what matters.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
