using System.Net.Sockets;

namespace OrleansGateway.Proxy.Native;

/// <summary>
/// One listener's SO_REUSEPORT socket on one loop. Level-triggered: each wake-up accepts a bounded batch (the rest is
/// reported again), so one busy port cannot starve the loop's connections. A cleartext listener's connections stay on
/// this loop (<see cref="NativeConnection"/>); those that need <see cref="System.Net.Security.SslStream"/> (a
/// TLS-inspecting listener, an upstream that originates TLS) are handed to the managed path on the thread pool.
/// </summary>
internal sealed unsafe class NativeAcceptor : IEventHandler
{
    /// <summary>Connections accepted per wake-up before the loop turns to its other events.</summary>
    private const int Batch = 32;

    private readonly EventLoop _loop;
    private readonly Socket _socket;
    private readonly ProxyListener _listener;
    private readonly ProxyRuntime _runtime;
    private readonly int _fd;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _slot = -1;
    private bool _closing;
    private AcceptBackoff _backoff;
    private ITimer? _backoffTimer;

    public NativeAcceptor(EventLoop loop, Socket socket, ProxyListener listener, ProxyRuntime runtime)
    {
        _loop = loop;
        _socket = socket;
        _listener = listener;
        _runtime = runtime;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
    }

    /// <summary>On the loop: the socket joins the epoll set.</summary>
    public void Register()
    {
        if (_closing)
        {
            return;
        }

        _slot = _loop.Reserve(this);
        _loop.Register(_fd, _slot, 0, Libc.EPOLLIN);
    }

    public Task CloseAsync()
    {
        _loop.Post(new LoopAction<NativeAcceptor>(static (a, _) => a.Close(), this));
        return _closed.Task;
    }

    public void OnEvents(int side, uint events)
    {
        var address = stackalloc byte[SocketAddressBytes.Capacity];
        for (var i = 0; i < Batch; i++)
        {
            var snapshot = _listener.Current;
            var length = SocketAddressBytes.Capacity;
            var fd = Libc.Accept4(_fd, address, &length, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            if (fd < 0)
            {
                var errno = Libc.Errno;
                switch (errno)
                {
                    case Libc.EAGAIN:
                        return;
                    case Libc.EINTR:
                    case Libc.ECONNABORTED:
                    case Libc.EPROTO:
                    case Libc.EPERM:
                        // The client gave up while queued (or a firewall rule refused it): nothing is wrong with the _listener.
                        continue;
                    default:
                        Pause(errno);
                        return;
                }
            }

            _backoff.Reset();
            var peer = new ReadOnlySpan<byte>(address, length);
            var source = ConnectionLimits.SourceKey(peer);
            if (_runtime.Limits.TryAdmit(_listener, snapshot, source, out var admission) is not null)
            {
                Libc.Close(fd);
                continue;
            }

            if (!_listener.TryOpenConnection())
            {
                Libc.Close(fd);
                _runtime.Limits.Release(_listener, source, admission.Source, admission.Handshake);
                _listener.ConnectionClosed();
                return;
            }

            if (snapshot.NativeRelay)
            {
                NativeConnection.Start(_loop, fd, peer, _listener, snapshot, _runtime, source, admission);
            }
            else
            {
                // The fd belongs to the SafeSocketHandle from here on; the managed connection builds its socket on the pool.
                ThreadPool.UnsafeQueueUserWorkItem(
                    new ProxyConnection(new SafeSocketHandle(fd, ownsHandle: true), _listener, snapshot, _runtime, source, admission), preferLocal: false);
            }
        }
    }

    public void OnLoopStopping() => Close();

    /// <summary>Logged; the socket stays open and keeps accepting.</summary>
    public void OnFailed(Exception exception) => ProxyLog.HandlerFailed(_runtime.Log, exception, _loop.Index);

    /// <summary>
    /// Out of file descriptors or buffers: accepting again at once would spin (the socket stays readable). The socket
    /// leaves the epoll set's interest for the backoff delay (5 ms doubling up to 1 s, as the managed accept loop).
    /// </summary>
    private void Pause(int errno)
    {
        var delay = _backoff.Next();
        var current = _listener.Current;
        _runtime.Metrics.AcceptErrors.Add(1, current.Tags);
        ProxyLog.AcceptFailed(_runtime.Log, current.Plan.Endpoint.ToString(), Libc.ToSocketError(errno), delay);
        _loop.Modify(_fd, _slot, 0, 0);
        _backoffTimer ??= _runtime.Time.CreateTimer(
            static s => ((NativeAcceptor)s!)._loop.Post(new LoopAction<NativeAcceptor>(static (a, _) => a.Resume(), (NativeAcceptor)s!)),
            this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _backoffTimer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void Resume()
    {
        if (!_closing)
        {
            _loop.Modify(_fd, _slot, 0, Libc.EPOLLIN);
        }
    }

    private void Close()
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        _backoffTimer?.Dispose();
        if (_slot >= 0)
        {
            _loop.Unregister(_fd);
            _loop.Release(_slot);
        }

        // The socket's SafeHandle closes the fd, once; the connections it accepted are not affected.
        _socket.Dispose();
        _closed.TrySetResult();
    }
}
