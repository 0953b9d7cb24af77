using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

/// <summary>A real TCP server on loopback that runs <c>handler</c> for every accepted connection.</summary>
internal sealed class TestUpstream : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<Socket, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _accepted = [];
    private readonly Task _loop;
    private int _count;

    public TestUpstream(Func<Socket, Task> handler, IPAddress? address = null, int port = 0)
    {
        _handler = handler;
        address ??= IPAddress.Loopback;
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address, port));
        _listener.Listen(512);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _loop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Echoes everything until EOF, then half-closes.</summary>
    public static TestUpstream Echo(IPAddress? address = null, int port = 0) => new(async s =>
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await s.ReceiveAsync(buffer)) > 0)
        {
            await s.SendAsync(buffer.AsMemory(0, n));
        }

        s.Shutdown(SocketShutdown.Send);
    }, address, port);

    /// <summary>Accepts and keeps the connection open until the peer closes; counts only.</summary>
    public static TestUpstream Sink() => new(async s =>
    {
        var buffer = new byte[1024];
        while (await s.ReceiveAsync(buffer) > 0)
        {
        }
    });

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket s;
            try
            {
                s = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            Interlocked.Increment(ref _count);
            _accepted.Add(s);
            _ = Task.Run(async () =>
            {
                try
                {
                    await _handler(s);
                }
                catch (Exception)
                {
                    // The test decides what a failure means; the server just moves on.
                }
                finally
                {
                    s.Dispose();
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var s in _accepted)
        {
            s.Dispose();
        }

        await _loop;
    }
}
