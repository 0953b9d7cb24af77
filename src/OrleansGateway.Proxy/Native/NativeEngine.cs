using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy.Native;

/// <summary>
/// The native relay engine (docs/data-plane.md, "The native relay engine"): one <see cref="EventLoop"/> per core, each
/// with its own epoll set and its own SO_REUSEPORT socket per listener, so the kernel spreads new connections over the
/// loops and a connection stays on the loop that accepted it. Created by the server when the first listener binds.
/// </summary>
internal sealed class NativeEngine : IAsyncDisposable
{
    private readonly EventLoop[] _loops;

    public NativeEngine(ProxyRuntime runtime, int loops)
    {
        Runtime = runtime;
        var splice = runtime.Options.Splice && SigPipeIgnored();
        _loops = new EventLoop[loops];
        try
        {
            for (var i = 0; i < loops; i++)
            {
                _loops[i] = new EventLoop(i, runtime.Options.BufferSize, splice, runtime.Time, runtime.Log);
            }
        }
        catch
        {
            foreach (var loop in _loops)
            {
                loop?.Dispose();
            }

            throw;
        }

        foreach (var loop in _loops)
        {
            loop.Start();
        }

        Splice = splice;
    }

    public ProxyRuntime Runtime { get; }

    public IReadOnlyList<EventLoop> Loops => _loops;

    /// <summary>Whether cleartext bulk transfers go through splice(2).</summary>
    public bool Splice { get; }

    /// <summary>Null when the engine can run here, else why not (the server then relays with the managed engine).</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "it needs Linux (epoll)";
        }

        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return $"it supports x64 and arm64, not {RuntimeInformation.ProcessArchitecture}";
        }

        try
        {
            var epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
            if (epoll < 0)
            {
                return $"epoll_create1 failed (errno {Libc.Errno})";
            }

            Libc.Close(epoll);
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"libc cannot be called ({e.Message})";
        }
    }

    /// <summary>
    /// One socket per loop on the endpoint, all with SO_REUSEPORT. A port another process holds (even one that also
    /// set SO_REUSEPORT) is refused as "in use": a first bind without the option checks that the port is free.
    /// </summary>
    public NativeListener? TryBind(ListenerEndpoint endpoint, IPAddress address, out string? error)
    {
        var port = endpoint.Port;
        if (port != 0)
        {
            using var probe = ProxyListener.Open(endpoint, new IPEndPoint(address, port), reusePort: false, listen: false, keepAlive: null, out error);
            if (probe is null)
            {
                return null;
            }
        }

        var sockets = new List<System.Net.Sockets.Socket>(_loops.Length);
        foreach (var _ in _loops)
        {
            var socket = ProxyListener.Open(endpoint, new IPEndPoint(address, port), reusePort: true, listen: true, Runtime.Options.KeepAlive, out error);
            if (socket is null)
            {
                sockets.ForEach(s => s.Dispose());
                return null;
            }

            // accept4 must not wait: the loop accepts until EAGAIN.
            socket.Blocking = false;
            sockets.Add(socket);
            port = ((IPEndPoint)socket.LocalEndPoint!).Port; // port 0: the others join the port the first one got
        }

        error = null;
        return new NativeListener(this, [.. sockets]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var loop in _loops)
        {
            loop.Stop();
        }

        await Task.WhenAll(_loops.Select(l => l.Stopped)).ConfigureAwait(false);
    }

    /// <summary>splice(2) into a socket whose peer is gone raises SIGPIPE; the .NET runtime ignores it, which is checked here.</summary>
    private static bool SigPipeIgnored()
    {
        try
        {
            const long sigPipeBit = 1L << (13 - 1);
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (Convert.ToInt64(line["SigIgn:".Length..].Trim(), 16) & sigPipeBit) != 0;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>The sockets of one listener endpoint on the native engine, one per loop.</summary>
internal sealed class NativeListener(NativeEngine engine, System.Net.Sockets.Socket[] sockets)
{
    private NativeAcceptor[] _acceptors = [];

    public IPEndPoint LocalEndPoint { get; } = (IPEndPoint)sockets[0].LocalEndPoint!;

    public void Start(ProxyListener listener, ProxyRuntime runtime)
    {
        _acceptors = new NativeAcceptor[sockets.Length];
        for (var i = 0; i < sockets.Length; i++)
        {
            _acceptors[i] = new NativeAcceptor(engine.Loops[i], sockets[i], listener, runtime);
            engine.Loops[i].Post(new LoopAction<NativeAcceptor>(static (a, _) => a.Register(), _acceptors[i]));
        }
    }

    /// <summary>Closes every socket on its loop; completes when all are closed (the port is free).</summary>
    public Task CloseAsync()
    {
        if (_acceptors.Length == 0)
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            return Task.CompletedTask;
        }

        return Task.WhenAll(_acceptors.Select(a => a.CloseAsync()));
    }

    /// <summary>Closes this listener's connections on every loop (drain timeout, server stop).</summary>
    public void AbortConnections(ProxyListener listener, CloseReason reason)
    {
        foreach (var loop in engine.Loops)
        {
            loop.Post(new LoopAction<(ProxyListener Listener, CloseReason Reason)>(
                static (state, loop) => loop.ForEach(static (handler, s) =>
                {
                    if (handler is NativeConnection connection && connection.Listener == s.Listener)
                    {
                        connection.Abort(s.Reason, resetClient: false, resetUpstream: false);
                    }
                }, state),
                (listener, reason)));
        }
    }
}

/// <summary>Rare work for a loop (register or close a listening socket, abort a listener's connections), with its state.</summary>
internal sealed class LoopAction<TState>(Action<TState, EventLoop> action, TState state) : ILoopWork
{
    public void Run(EventLoop loop) => action(state, loop);
}
