using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Bench.Propagation;

/// <summary>
/// An upstream that writes its name and closes. A client that reads the name through an edge knows which upstream
/// the edge routed it to, so a changed <c>service</c> is observed on the wire, not only in the edge's plan.
/// </summary>
internal sealed class GreetingUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _greeting;
    private readonly Task _accepting;

    public GreetingUpstream(string name)
    {
        Name = name;
        _greeting = Encoding.ASCII.GetBytes(name + "\n");
        _listener.Start();
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

            _ = GreetAsync(client);
        }
    }

    private async Task GreetAsync(Socket client)
    {
        using (client)
        {
            try
            {
                await client.SendAsync(_greeting).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // The proxy gave up on this connection; the client side reports the failure.
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
