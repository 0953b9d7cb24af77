using System.Net;
using System.Net.Sockets;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// One bound endpoint: its listening socket(s), its accept loop and its current snapshot. The snapshot is swapped by a
/// single reference write; the accept path reads it once per connection, so neither takes a lock. On the managed
/// engine one socket and an accept loop on the runtime's socket engine; on the native engine one SO_REUSEPORT socket
/// per event loop (<see cref="Native.NativeListener"/>).
/// </summary>
internal sealed class ProxyListener
{
    private readonly Socket? _socket;
    private readonly Native.NativeListener? _native;
    private readonly ProxyRuntime _runtime;
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ListenerSnapshot _current;
    private int _active;
    private volatile bool _stopping;
    private CloseReason _abortReason = CloseReason.Drained;
    private ITimer? _drainTimer;
    private Task _socketsClosed = Task.CompletedTask;

    private ProxyListener(Socket? socket, Native.NativeListener? native, IPEndPoint localEndPoint, ListenerSnapshot snapshot, ProxyRuntime runtime)
    {
        _socket = socket;
        _native = native;
        _current = snapshot;
        _runtime = runtime;
        LocalEndPoint = localEndPoint;
        Admitted = runtime.Limits.NewListenerCounter();
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Its connections against <see cref="ProxyOptions.MaxConnectionsPerListener"/> (<see cref="ConnectionLimits"/>).</summary>
    public BoundedCounter Admitted { get; }
    public ListenerSnapshot Current => Volatile.Read(ref _current);
    public int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>Cancelled when the remaining connections must close (drain timeout or server stop).</summary>
    public CancellationToken AbortToken => _abort.Token;

    public CloseReason AbortReason => _abortReason;

    /// <summary>Completes when the listener stopped accepting and its last connection closed.</summary>
    public Task AllClosed => _allClosed.Task;

    /// <summary>
    /// Binds and listens (on <paramref name="engine"/>'s loops when given); never throws for the usual bind failures,
    /// which come back as a message.
    /// </summary>
    public static ProxyListener? TryBind(ListenerSnapshot snapshot, ProxyRuntime runtime, Native.NativeEngine? engine, out string? error)
    {
        var endpoint = snapshot.Plan.Endpoint;
        if (!IPAddress.TryParse(endpoint.Address, out var address))
        {
            error = $"listener address '{endpoint.Address}' is not an IP address; use an IPv4 or IPv6 literal such as 0.0.0.0 or ::";
            return null;
        }

        if (endpoint.Port is < 0 or > 65535)
        {
            error = $"port {endpoint.Port} is out of range; use 1..65535";
            return null;
        }

        if (engine is not null)
        {
            var native = engine.TryBind(endpoint, address, out error);
            return native is null ? null : new ProxyListener(null, native, native.LocalEndPoint, snapshot, runtime);
        }

        var socket = Open(endpoint, new IPEndPoint(address, endpoint.Port), reusePort: false, listen: true, runtime.Options.KeepAlive, out error);
        return socket is null ? null : new ProxyListener(socket, null, (IPEndPoint)socket.LocalEndPoint!, snapshot, runtime);
    }

    /// <summary>
    /// A socket bound to <paramref name="bindTo"/> (listening when asked), or null with the message that says why not.
    /// <paramref name="reusePort"/>: SO_REUSEPORT, so that each event loop of the native engine has its own socket on the port.
    /// <paramref name="keepAlive"/>: set on the listening socket, which passes it on to every socket it accepts (Linux
    /// copies the listener's options to an accepted socket), so no connection pays system calls for it.
    /// </summary>
    public static Socket? Open(ListenerEndpoint endpoint, IPEndPoint bindTo, bool reusePort, bool listen, TcpKeepAlive? keepAlive, out string? error)
    {
        Socket? socket = null;
        try
        {
            socket = new Socket(bindTo.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (bindTo.Address.Equals(IPAddress.IPv6Any))
            {
                // `address: "::"` means every address, IPv4 included (the bind-conflict check assumes so too).
                socket.DualMode = true;
            }

            if (reusePort)
            {
                socket.SetRawSocketOption(Native.Libc.SOL_SOCKET, Native.Libc.SO_REUSEPORT, BitConverter.GetBytes(1));
            }

            keepAlive?.Apply(socket);
            socket.Bind(bindTo);
            if (listen)
            {
                socket.Listen(1024);
            }

            error = null;
            return socket;
        }
        catch (SocketException e)
        {
            socket?.Dispose();
            error = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => $"{endpoint} is already in use by another process; stop it or choose another port",
                SocketError.AccessDenied => $"binding port {endpoint.Port} needs root or CAP_NET_BIND_SERVICE",
                SocketError.AddressNotAvailable => $"{endpoint}: address {endpoint.Address} is not assigned to any interface of this machine; use one of its addresses, or 0.0.0.0 / :: for all",
                SocketError.AddressFamilyNotSupported => $"{endpoint}: this machine does not support {bindTo.AddressFamily} addresses; use an address of a family it has",
                _ => $"{endpoint} cannot be bound: {e.Message} ({e.SocketErrorCode})",
            };
            return null;
        }
    }

    public void Start()
    {
        if (_native is not null)
        {
            _native.Start(this, _runtime);
        }
        else
        {
            _ = AcceptLoopAsync();
        }
    }

    /// <summary>New connections get <paramref name="snapshot"/>; open ones keep theirs.</summary>
    public void Swap(ListenerSnapshot snapshot) => Volatile.Write(ref _current, snapshot);

    /// <summary>
    /// Stops accepting at once and closes what is still open after <paramref name="drainTimeout"/>. Completes when the
    /// port is released (the native engine's sockets are closed by their loops).
    /// </summary>
    public Task Drain(TimeSpan drainTimeout)
    {
        // The timer exists before accepting stops, so that Finish (which runs as soon as the last connection is
        // gone, possibly inside StopAccepting) always finds it to dispose.
        _drainTimer = _runtime.Time.CreateTimer(static s => ((ProxyListener)s!).Abort(CloseReason.Drained), this, drainTimeout, Timeout.InfiniteTimeSpan);
        StopAccepting();
        ProxyLog.Draining(_runtime.Log, Current.Plan.Endpoint.ToString(), ActiveConnections, drainTimeout);
        return _socketsClosed;
    }

    /// <summary>Closes every open connection now.</summary>
    public void Abort(CloseReason reason)
    {
        StopAccepting();
        _abortReason = reason;
        _abort.Cancel();
        _native?.AbortConnections(this, reason);
    }

    /// <summary>
    /// Counts an accepted connection; false when the listener stopped meanwhile (the caller closes it and calls
    /// <see cref="ConnectionClosed"/>).
    /// </summary>
    public bool TryOpenConnection()
    {
        Interlocked.Increment(ref _active);
        return !_stopping;
    }

    public void ConnectionClosed()
    {
        if (Interlocked.Decrement(ref _active) == 0 && _stopping)
        {
            Finish();
        }
    }

    private void StopAccepting()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (_native is not null)
        {
            _socketsClosed = _native.CloseAsync();
        }
        else
        {
            _socket!.Dispose();
        }

        if (ActiveConnections == 0)
        {
            Finish();
        }
    }

    private void Finish()
    {
        if (_allClosed.TrySetResult())
        {
            _drainTimer?.Dispose();
        }
    }

    /// <summary>The peer of an accepted socket; null when it already left (it is then one more connection of "no source").</summary>
    private static EndPoint? SafeRemoteEndPoint(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private async Task AcceptLoopAsync()
    {
        var backoff = new AcceptBackoff();
        var endpoint = Current.Plan.Endpoint.ToString();
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = await _socket!.AcceptAsync().ConfigureAwait(false);
                backoff.Reset();
            }
            catch (Exception) when (_stopping)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The client gave up while queued: nothing is wrong with the listener.
                continue;
            }
            catch (Exception e)
            {
                // Out of file descriptors or buffers: retrying at once would spin; back off and keep the loop alive.
                var code = e is SocketException se ? se.SocketErrorCode : SocketError.SocketError;
                var delay = backoff.Next();
                _runtime.Metrics.AcceptErrors.Add(1, Current.Tags);
                ProxyLog.AcceptFailed(_runtime.Log, endpoint, code, delay);
                await Task.Delay(delay, _runtime.Time).ConfigureAwait(false);
                continue;
            }

            var snapshot = Current;
            var source = ConnectionLimits.SourceKey(SafeRemoteEndPoint(client));
            if (_runtime.Limits.TryAdmit(this, snapshot, source, out var admission) is not null)
            {
                client.Dispose();
                continue;
            }

            if (!TryOpenConnection())
            {
                client.Dispose();
                _runtime.Limits.Release(this, source, admission.Source, admission.Handshake);
                ConnectionClosed();
                return;
            }

            // The handler runs on the thread pool so that a slow start (TLS, DNS) never delays the next accept,
            // even when socket continuations run inline on the event loop thread.
            ThreadPool.UnsafeQueueUserWorkItem(new ProxyConnection(client, this, snapshot, _runtime, source, admission), preferLocal: false);
        }
    }
}

/// <summary>Accept retry delays: 5 ms, doubling up to 1 s, back to 5 ms after a successful accept.</summary>
internal struct AcceptBackoff
{
    public static readonly TimeSpan Min = TimeSpan.FromMilliseconds(5);
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(1);

    private TimeSpan _next;

    public TimeSpan Next()
    {
        var delay = _next < Min ? Min : _next;
        _next = delay * 2 > Max ? Max : delay * 2;
        return delay;
    }

    public void Reset() => _next = TimeSpan.Zero;
}
