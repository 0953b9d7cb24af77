using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Testing;

/// <summary>
/// A TCP upstream the test owns, on loopback until disposed: it greets (optionally), echoes, and records every
/// connection it accepted and every byte it received, so that an attack test can prove that nothing reached it. The one
/// recording upstream of the test projects, linked into each of them from tests/Shared.
/// </summary>
internal sealed class RecordingUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[]? _greeting;
    private readonly Task _loop;
    private int _connections;
    private long _bytes;

    /// <param name="greeting">Sent on each connection before the echo, so a client can tell which upstream it reached.</param>
    public RecordingUpstream(string? greeting = null)
    {
        _greeting = greeting is null ? null : Encoding.UTF8.GetBytes(greeting);
        _listener.Start();
        _loop = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted since the start.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Bytes received from all connections since the start.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The accept loop ends by cancellation.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _connections);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var stream = client.GetStream();
                        if (_greeting is not null)
                        {
                            await stream.WriteAsync(_greeting, _stop.Token);
                        }

                        var buffer = new byte[4096];
                        int read;
                        while ((read = await stream.ReadAsync(buffer, _stop.Token)) > 0)
                        {
                            Interlocked.Add(ref _bytes, read);
                            await stream.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                        }

                        client.Client.Shutdown(SocketShutdown.Send);
                    }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                    {
                        // The client went away.
                    }
                }
            });
        }
    }
}
