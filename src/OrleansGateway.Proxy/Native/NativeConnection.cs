using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace OrleansGateway.Proxy.Native;

/// <summary>The peer's socket address as accept4 wrote it (sockaddr_in or sockaddr_in6), kept inline in its connection.</summary>
[InlineArray(Capacity)]
internal struct SocketAddressBytes
{
    public const int Capacity = 28;

    private byte _first;
}

/// <summary>
/// A cleartext connection on the native engine, from accept to close, all on the <see cref="EventLoop"/> that accepted
/// it: route (the listener's catch-all), tenant limit, canary pick, circuit breaker, dial (IP literals at once, names
/// resolved on the thread pool; IPv6 first, one attempt after the other within the connect timeout), then the relay of
/// both directions with recv/send through the loop's buffer and splice(2) through a pipe once a direction moves bulk
/// data. What it records and releases is <see cref="TrackedConnection"/>'s, as for the managed engine.
/// <para>
/// It owns its two fds: only its loop's thread touches them, and <see cref="Finish"/> closes each exactly once. Other
/// threads (the idle and connect timers, the resolver) only leave mail (<see cref="Run"/>).
/// </para>
/// </summary>
internal sealed class NativeConnection : TrackedConnection, IEventHandler, ILoopWork
{
    private const int ClientSide = 0;
    private const int UpstreamSide = 1;
    private const int MailIdle = 1;
    private const int MailTimer = 2;
    private const int MailResolved = 4;
    private const uint RelayEvents = Libc.EPOLLIN | Libc.EPOLLOUT | Libc.EPOLLRDHUP | Libc.EPOLLET;

    private readonly EventLoop _loop;
    private readonly int _slot;
    private SocketAddressBytes _clientAddress;
    private int _clientAddressLength;
    private string? _clientText;
    private int _client;
    private int _upstream = -1;
    private Phase _phase;

    // The dial.
    private bool _pending; // holds the circuit breaker's pending slot
    private TimeSpan _timeout;
    private long _dialStarted;
    private ITimer? _deadline;
    private ITimer? _attemptTimer;
    private CancellationTokenSource? _resolving;
    private (IReadOnlyList<IPEndPoint>? EndPoints, ConnectResult Failure) _resolution;
    private IReadOnlyList<IPEndPoint>? _addresses;
    private int _nextAddress;
    private IPEndPoint? _attemptEndPoint;
    private long _attemptStarted;
    private TimeSpan? _attemptBudget;
    private DialFailures _failures = new();

    // The relay.
    private Direction _toUpstream;
    private Direction _toClient;
    private IdleTimer _idle;
    private CloseReason? _firstEof;
    private int _halfClosed;
    private int _mail;

    private NativeConnection(
        EventLoop loop, int fd, ReadOnlySpan<byte> address, ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime, UInt128 source, Admission admission)
        : base(listener, snapshot, runtime, source, admission)
    {
        _loop = loop;
        _client = fd;
        address.CopyTo(_clientAddress);
        _clientAddressLength = address.Length;
        _slot = loop.Reserve(this);
    }

    private enum Phase
    {
        Dialing,
        Relaying,
        Closed,
    }

    protected override string ClientText => _clientText ??= ClientEndPoint()?.ToString() ?? "-";

    /// <summary>On the loop that accepted <paramref name="fd"/>, which the connection owns from here on.</summary>
    public static void Start(
        EventLoop loop, int fd, ReadOnlySpan<byte> address, ProxyListener listener, ListenerSnapshot snapshot, ProxyRuntime runtime, UInt128 source, Admission admission)
        => new NativeConnection(loop, fd, address, listener, snapshot, runtime, source, admission).Begin();

    public void OnEvents(int side, uint events)
    {
        if (_phase == Phase.Dialing)
        {
            if (side == UpstreamSide)
            {
                Connected(events);
            }

            return;
        }

        if ((events & (Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0)
        {
            if ((events & (Libc.EPOLLRDHUP | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0)
            {
                // The peer finished sending (or failed): read until EOF or the error even after a short read.
                Dir(side).SourceEnding = true;
            }

            Pump(side);
        }

        if ((events & Libc.EPOLLOUT) != 0 && _phase == Phase.Relaying)
        {
            // Room again towards `side`: flush what waited for it, then read its peer again.
            Pump(Other(side));
        }
    }

    public void OnLoopStopping() => Abort(CloseReason.ServerStopped, resetClient: false, resetUpstream: false);

    public void OnFailed(Exception exception)
    {
        ProxyLog.ConnectionCrashed(Runtime.Log, exception, ClientText, Snapshot.Plan.Endpoint.ToString());
        Abort(CloseReason.InternalError, resetClient: false, resetUpstream: false);
    }

    /// <summary>Mail from another thread (timer, resolver), read on the loop.</summary>
    public void Run(EventLoop loop)
    {
        var mail = Interlocked.Exchange(ref _mail, 0);
        if (_phase == Phase.Closed)
        {
            return;
        }

        if ((mail & MailIdle) != 0)
        {
            Abort(CloseReason.IdleTimeout, resetClient: false, resetUpstream: false);
            return;
        }

        if ((mail & MailResolved) != 0 && _phase == Phase.Dialing && _resolving is not null)
        {
            _resolving.Dispose();
            _resolving = null;
            if (_resolution.EndPoints is null)
            {
                DialFailed(_resolution.Failure);
                return;
            }

            _addresses = _resolution.EndPoints;
            DialNext();
        }

        if ((mail & MailTimer) != 0 && _phase == Phase.Dialing)
        {
            CheckDeadlines();
        }
    }

    /// <summary>
    /// Ends the connection now (idle timeout, drain, reset, server stop); the first reason recorded wins. With a reset
    /// the peer gets an RST, else a FIN. Loop thread.
    /// </summary>
    public void Abort(CloseReason reason, bool resetClient, bool resetUpstream)
    {
        if (_phase == Phase.Closed)
        {
            return;
        }

        SetReason(reason);
        CloseFd(ref _client, resetClient, bothEnded: false);
        CloseFd(ref _upstream, resetUpstream, bothEnded: false);
        Finish(bothEnded: false);
    }

    private void Begin()
    {
        Opened();
        if (Libc.SetInt(_client, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1) != 0)
        {
            Fail(CloseReason.ClientGone, "gone before it was served");
            Finish(bothEnded: false);
            return;
        }

        if (Admit(ClientHelloInspection.Cleartext(Snapshot)) is not { } route || PickUpstream(route) is not { } upstream)
        {
            Finish(bothEnded: false);
            return;
        }

        _pending = true;
        _timeout = UpstreamConnector.TimeoutOf(upstream.Plan);
        _dialStarted = Runtime.Time.GetTimestamp();
        if (_timeout != Timeout.InfiniteTimeSpan)
        {
            _deadline = Runtime.Time.CreateTimer(static s => ((NativeConnection)s!).Mail(MailTimer), this, _timeout, Timeout.InfiniteTimeSpan);
        }

        if (upstream.LiteralEndPoints is { } literal)
        {
            _addresses = literal;
            DialNext();
            return;
        }

        // Resolution may block (a resolver is free to): never on the loop.
        _resolving = new CancellationTokenSource();
        ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Connection.ResolveAsync(s.Plan, s.Token), (Connection: this, upstream.Plan, _resolving.Token), preferLocal: false);
    }

    /// <summary>On the thread pool; the loop reads the result from the mail (and ignores it if the connection ended meanwhile).</summary>
    private async Task ResolveAsync(Model.Plan.UpstreamPlan plan, CancellationToken token)
    {
        try
        {
            _resolution = await UpstreamConnector.ResolveAsync(plan, null, Runtime, _timeout, token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _resolution = (null, new ConnectResult(null, null, CloseReason.ResolveFailed, $"{plan.Target.Host} does not resolve: {e.Message}"));
        }

        Mail(MailResolved);
    }

    private void Mail(int what)
    {
        if (Interlocked.Or(ref _mail, what) == 0)
        {
            _loop.Post(this);
        }
    }

    /// <summary>Dials the next address left, or ends the connection with what the attempts say.</summary>
    private void DialNext()
    {
        var plan = Upstream!.Plan;
        while (_nextAddress < _addresses!.Count)
        {
            var index = _nextAddress++;
            var endPoint = _addresses[index];
            if (!UpstreamConnector.Admissible(plan, endPoint, Runtime, ref _failures))
            {
                continue;
            }

            var errno = Connect(endPoint, ReferenceEquals(endPoint, Upstream.LiteralEndPoint) ? Upstream.LiteralSocketAddress! : endPoint.Serialize());
            if (errno != 0)
            {
                _failures.Failed(endPoint, Libc.ToSocketError(errno));
                continue;
            }

            _attemptEndPoint = endPoint;
            _attemptStarted = Runtime.Time.GetTimestamp();
            _attemptBudget = UpstreamConnector.AttemptBudget(_timeout, Runtime.Time.GetElapsedTime(_dialStarted, _attemptStarted), _addresses.Count - index);
            if (_attemptBudget is { } budget)
            {
                _attemptTimer ??= Runtime.Time.CreateTimer(static s => ((NativeConnection)s!).Mail(MailTimer), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _attemptTimer.Change(budget, Timeout.InfiniteTimeSpan);
            }

            return;
        }

        DialFailed(_failures.Result);
    }

    /// <summary>A non-blocking connect whose completion the loop reports (EPOLLOUT); 0, or the errno of a failure now.</summary>
    private unsafe int Connect(IPEndPoint endPoint, SocketAddress address)
    {
        var family = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? Libc.AF_INET6 : Libc.AF_INET;
        var fd = Libc.Socket(family, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, Libc.IPPROTO_TCP);
        if (fd < 0)
        {
            return Libc.Errno;
        }

        Libc.SetInt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        Runtime.Options.KeepAlive?.Apply(fd);
        int result;
        fixed (byte* raw = address.Buffer.Span)
        {
            result = Libc.Connect(fd, raw, address.Size);
        }

        var errno = result == 0 ? 0 : Libc.Errno;
        if (errno is 0 or Libc.EINPROGRESS or Libc.EINTR)
        {
            // Registered once for the connection's life: the completion is the first EPOLLOUT edge, the relay the rest.
            if (_loop.Register(fd, _slot, UpstreamSide, RelayEvents))
            {
                _upstream = fd;
                return 0;
            }

            errno = Libc.Errno;
        }

        Libc.Close(fd);
        return errno;
    }

    /// <summary>The dialled socket's first event: connected, or this address failed and the next one is tried.</summary>
    private void Connected(uint events)
    {
        if (_upstream < 0)
        {
            return;
        }

        var error = (events & (Libc.EPOLLERR | Libc.EPOLLHUP)) != 0 ? Libc.PendingError(_upstream) : 0;
        if (error == 0 && (events & (Libc.EPOLLERR | Libc.EPOLLHUP)) != 0)
        {
            error = Libc.ECONNREFUSED; // hung up without a pending error: nobody accepted
        }

        if (error != 0)
        {
            CloseFd(ref _upstream, reset: false, bothEnded: true);
            _failures.Failed(_attemptEndPoint!, Libc.ToSocketError(error));
            DialNext();
            return;
        }

        if ((events & Libc.EPOLLOUT) == 0)
        {
            return;
        }

        EndDial();
        UpstreamConnected(_attemptEndPoint!);
        if (Upstream!.Plan.SendProxyProtocol != Model.Plan.ProxyProtocolVersion.None && !SendProxyHeader())
        {
            return;
        }

        _phase = Phase.Relaying;
        _toUpstream.Tally.Start(_loop.Now);
        _toClient.Tally.Start(_loop.Now);
        _idle.Start(Upstream!.Plan.IdleTimeout ?? Runtime.Options.DefaultIdleTimeout, Runtime.Time, static s => ((NativeConnection)s!).IdleCheck(), this);
        if (!_loop.Register(_client, _slot, ClientSide, RelayEvents))
        {
            Fail(CloseReason.ClientGone, $"cannot watch the client socket (errno {Libc.Errno})");
            Abort(CloseReason.ClientGone, resetClient: false, resetUpstream: false);
            return;
        }

        if ((events & (Libc.EPOLLIN | Libc.EPOLLRDHUP)) != 0)
        {
            // The upstream spoke first (a banner) in the same event as the connect completion.
            _toClient.SourceEnding = (events & Libc.EPOLLRDHUP) != 0;
            Pump(UpstreamSide);
        }
    }

    private void CheckDeadlines()
    {
        var now = Runtime.Time.GetTimestamp();
        var elapsed = Runtime.Time.GetElapsedTime(_dialStarted, now);
        if (_timeout != Timeout.InfiniteTimeSpan)
        {
            if (elapsed >= _timeout)
            {
                DialFailed(_resolving is not null || _attemptEndPoint is null
                    ? UpstreamConnector.ResolveTimedOut(Upstream!.Plan, _timeout)
                    : UpstreamConnector.TimedOut(_attemptEndPoint, _timeout));
                return;
            }

            // A timer may fire a moment early by the clock used here: wait for the rest.
            _deadline?.Change(_timeout - elapsed, Timeout.InfiniteTimeSpan);
        }

        if (_attemptBudget is { } budget && _upstream >= 0)
        {
            var attempt = Runtime.Time.GetElapsedTime(_attemptStarted, now);
            if (attempt >= budget)
            {
                CloseFd(ref _upstream, reset: false, bothEnded: true);
                _failures.Add(CloseReason.ConnectTimeout, _attemptEndPoint!, "no answer");
                DialNext();
            }
            else
            {
                _attemptTimer?.Change(budget - attempt, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void DialFailed(ConnectResult failure)
    {
        EndDial();
        ConnectFailed(failure.Failure, failure.Detail);
        Finish(bothEnded: false);
    }

    /// <summary>The dial is over: its timers go, and the breaker's pending slot is given back.</summary>
    private void EndDial()
    {
        _deadline?.Dispose();
        _deadline = null;
        _attemptTimer?.Dispose();
        _attemptTimer = null;
        _attemptBudget = null;
        if (_resolving is { } resolving)
        {
            _resolving = null;
            resolving.Cancel();
            resolving.Dispose();
        }

        if (_pending)
        {
            _pending = false;
            ConnectDone();
        }
    }

    /// <summary>
    /// Moves what <paramref name="from"/> sends to the other peer until nothing is ready, the other peer cannot take more
    /// (its EPOLLOUT resumes this), an EOF or a failure. Copies through the loop's buffer; once a read fills the buffer
    /// the direction carries bulk data and moves it with splice(2) through a pipe instead (no copy into the process),
    /// until the source is drained and the empty pipe goes back to the loop.
    /// </summary>
    private unsafe void Pump(int from)
    {
        ref var d = ref Dir(from);
        while (_phase == Phase.Relaying)
        {
            if ((d.PendingCount > 0 || d.PipeCount > 0) && !Flush(ref d, from))
            {
                return;
            }

            if (d.Ended)
            {
                return;
            }

            var source = from == ClientSide ? _client : _upstream;
            nint read;
            if (d.HasPipe)
            {
                read = Libc.Splice(source, null, d.Pipe.Write, null, _loop.Pipes.Capacity, Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK);
                if (read > 0)
                {
                    d.PipeCount = (int)read;
                    continue;
                }
            }
            else
            {
                read = Libc.Recv(source, _loop.Buffer, _loop.BufferSize, 0);
                if (read > 0)
                {
                    if (!Deliver(ref d, from, (int)read) || d.PendingCount > 0)
                    {
                        return;
                    }

                    if (read == _loop.BufferSize)
                    {
                        d.HasPipe = _loop.Pipes.Enabled && _loop.Pipes.TryRent(out d.Pipe);
                    }
                    else if (!d.SourceEnding)
                    {
                        // A short read emptied the socket; new data raises a new edge.
                        Waiting(ref d, from);
                        return;
                    }

                    continue;
                }
            }

            if (read == 0)
            {
                EndOfStream(from);
                return;
            }

            var errno = Libc.Errno;
            if (errno == Libc.EINTR)
            {
                continue;
            }

            if (errno == Libc.EAGAIN)
            {
                ReturnPipe(ref d);
                Waiting(ref d, from);
                return;
            }

            if (d.HasPipe && errno is Libc.EINVAL or Libc.ENOSYS or Libc.EOPNOTSUPP)
            {
                // The kernel refuses splice here: this loop copies from now on.
                _loop.Pipes.Discard(d.Pipe);
                d.HasPipe = false;
                _loop.Pipes.Disable();
                continue;
            }

            Broke(from);
            return;
        }
    }

    /// <summary>Sends what was just read; what does not fit waits in a pooled buffer for EPOLLOUT. False when the destination failed.</summary>
    private unsafe bool Deliver(ref Direction d, int from, int count)
    {
        var destination = from == ClientSide ? _upstream : _client;
        nint sent;
        do
        {
            sent = Libc.Send(destination, _loop.Buffer, count, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
        }
        while (sent < 0 && Libc.Errno == Libc.EINTR);

        if (sent < 0)
        {
            if (Libc.Errno != Libc.EAGAIN)
            {
                Broke(Other(from));
                return false;
            }

            sent = 0;
        }

        if (sent > 0)
        {
            Sent(ref d, from, (int)sent);
        }

        if (sent < count)
        {
            var rest = count - (int)sent;
            d.Pending = ArrayPool<byte>.Shared.Rent(rest);
            new ReadOnlySpan<byte>(_loop.Buffer + sent, rest).CopyTo(d.Pending);
            d.PendingOffset = 0;
            d.PendingCount = rest;
        }

        return true;
    }

    /// <summary>Sends what waited (buffer or pipe); true when nothing is left, false when it must wait again or the destination failed.</summary>
    private unsafe bool Flush(ref Direction d, int from)
    {
        var destination = from == ClientSide ? _upstream : _client;
        while (d.PendingCount > 0)
        {
            nint sent;
            fixed (byte* pending = d.Pending)
            {
                sent = Libc.Send(destination, pending + d.PendingOffset, d.PendingCount, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            }

            if (sent < 0)
            {
                if (!Retry(from))
                {
                    return false;
                }

                continue;
            }

            d.PendingOffset += (int)sent;
            d.PendingCount -= (int)sent;
            Sent(ref d, from, (int)sent);
        }

        if (d.Pending is { } buffer)
        {
            d.Pending = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        while (d.PipeCount > 0)
        {
            var sent = Libc.Splice(d.Pipe.Read, null, destination, null, d.PipeCount, Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK);
            if (sent < 0)
            {
                if (!Retry(from))
                {
                    return false;
                }

                continue;
            }

            d.PipeCount -= (int)sent;
            Sent(ref d, from, (int)sent);
        }

        return true;
    }

    /// <summary>After a failed send towards the other peer: true to try again now (EINTR); false to wait (EAGAIN) or when it broke.</summary>
    private bool Retry(int from)
    {
        var errno = Libc.Errno;
        if (errno == Libc.EINTR)
        {
            return true;
        }

        if (errno != Libc.EAGAIN)
        {
            Broke(Other(from));
        }

        return false;
    }

    private void Sent(ref Direction d, int from, int count)
    {
        _idle.Touch(_loop.Now);
        if (d.Tally.Sent(count, _loop.Now))
        {
            Report(ref d, from);
        }
    }

    /// <summary>Before the direction waits for more data.</summary>
    private void Waiting(ref Direction d, int from)
    {
        if (d.Tally.DueBeforeWait(Runtime.Time))
        {
            Report(ref d, from);
        }
    }

    private void Report(ref Direction d, int from) => Runtime.Metrics.AddBytes(Upstream!, from == ClientSide ? Peer.Client : Peer.Upstream, d.Tally.Take());

    /// <summary>
    /// EOF from <paramref name="from"/> becomes a half-close towards the other peer, whose direction keeps flowing. The
    /// second EOF sends no shutdown: both sockets close right after, and that close sends the same FIN.
    /// </summary>
    private void EndOfStream(int from)
    {
        ref var d = ref Dir(from);
        d.Ended = true;
        ReturnPipe(ref d);
        if (d.Tally.HasUnreported)
        {
            Report(ref d, from);
        }

        _firstEof ??= from == ClientSide ? CloseReason.ClientClosed : CloseReason.UpstreamClosed;
        if (Dir(Other(from)).Ended && _halfClosed == 1)
        {
            _halfClosed = 2;
            Finish(bothEnded: true);
            return;
        }

        if (Libc.Shutdown(from == ClientSide ? _upstream : _client, Libc.SHUT_WR) == 0)
        {
            _halfClosed++;
        }

        if (Dir(Other(from)).Ended)
        {
            Finish(bothEnded: _halfClosed == 2);
        }
    }

    /// <summary>
    /// A receive from <paramref name="peer"/> or a send to it failed: it reset or is gone. The other peer is reset so it
    /// stops sending into the void (data may have been lost), and the connection ends.
    /// </summary>
    private void Broke(int peer)
        => Abort(peer == ClientSide ? CloseReason.ClientReset : CloseReason.UpstreamReset, resetClient: peer == UpstreamSide, resetUpstream: peer == ClientSide);

    private void IdleCheck()
    {
        if (_idle.Expired(Runtime.Time))
        {
            Runtime.Metrics.IdleTimeouts.Add(1, Upstream!.Tags);
            Mail(MailIdle);
        }
    }

    /// <summary>The one end of a connection: timers stopped, fds closed once, buffers and pipes given back, then the books.</summary>
    private void Finish(bool bothEnded)
    {
        if (_phase == Phase.Closed)
        {
            return;
        }

        _phase = Phase.Closed;
        _idle.Stop();
        EndDial();
        CloseFd(ref _client, reset: false, bothEnded);
        CloseFd(ref _upstream, reset: false, bothEnded);
        ReleaseDirection(ref _toUpstream, ClientSide);
        ReleaseDirection(ref _toClient, UpstreamSide);
        _loop.Release(_slot);
        Closed(_firstEof, _toUpstream.Tally.Relayed, _toClient.Tally.Relayed);
    }

    private void ReleaseDirection(ref Direction d, int from)
    {
        if (d.Pending is { } buffer)
        {
            d.Pending = null;
            d.PendingCount = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (d.HasPipe)
        {
            // A pipe that still holds data is closed, never reused.
            if (d.PipeCount > 0)
            {
                _loop.Pipes.Discard(d.Pipe);
                d.HasPipe = false;
            }
            else
            {
                ReturnPipe(ref d);
            }
        }

        if (d.Tally.HasUnreported && Upstream is not null)
        {
            Report(ref d, from);
        }
    }

    private void ReturnPipe(ref Direction d)
    {
        if (d.HasPipe && d.PipeCount == 0)
        {
            _loop.Pipes.Return(d.Pipe);
            d.HasPipe = false;
        }
    }

    /// <summary>
    /// Closes <paramref name="fd"/> once and marks it closed. A reset sends an RST; a graceful close without both
    /// directions ended shuts down first so that the peer gets a FIN; with both ended the close alone sends it.
    /// </summary>
    private static void CloseFd(ref int fd, bool reset, bool bothEnded)
    {
        if (fd < 0)
        {
            return;
        }

        if (reset)
        {
            Libc.LingerZero(fd);
        }
        else if (!bothEnded)
        {
            Libc.Shutdown(fd, Libc.SHUT_RDWR);
        }

        // Closing removes the fd from the epoll set; the slot's generation drops events already read for it.
        Libc.Close(fd);
        fd = -1;
    }

    /// <summary>
    /// The mapping's PROXY protocol header, sent before the client's fd joins the epoll set (so before any client byte):
    /// source = the client, destination = the listener's address and port as the client reached it (getsockname). A
    /// header is at most 107 bytes and the socket was just connected, so its empty send buffer takes it whole; a short
    /// or failed send means the upstream is gone. False: the connection ended (reason set).
    /// </summary>
    private unsafe bool SendProxyHeader()
    {
        Span<byte> local = stackalloc byte[SocketAddressBytes.Capacity];
        var length = SocketAddressBytes.Capacity;
        bool ok;
        fixed (byte* raw = local)
        {
            ok = Libc.GetSockName(_client, raw, &length) == 0;
        }

        if (!ok || ClientEndPoint() is not { } source || ToEndPoint(local, length) is not { } destination)
        {
            Fail(CloseReason.ClientGone, "the client's addresses are unknown, so no PROXY protocol header can be sent");
            Finish(bothEnded: false);
            return false;
        }

        var header = ProxyProtocol.Write(Upstream!.Plan.SendProxyProtocol, source, destination);
        nint sent;
        fixed (byte* bytes = header)
        {
            do
            {
                sent = Libc.Send(_upstream, bytes, header.Length, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            }
            while (sent < 0 && Libc.Errno == Libc.EINTR);
        }

        if (sent != header.Length)
        {
            Fail(CloseReason.UpstreamReset, $"sending the PROXY protocol header: {(sent < 0 ? Libc.ToSocketError(Libc.Errno).ToString() : "short send")}");
            Abort(CloseReason.UpstreamReset, resetClient: true, resetUpstream: false);
            return false;
        }

        return true;
    }

    private IPEndPoint? ClientEndPoint() => ToEndPoint(_clientAddress, _clientAddressLength);

    private static IPEndPoint? ToEndPoint(ReadOnlySpan<byte> bytes, int length)
    {
        if (length < 2)
        {
            return null;
        }

        var family = BitConverter.ToUInt16(bytes) switch
        {
            Libc.AF_INET => AddressFamily.InterNetwork,
            Libc.AF_INET6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown)
        {
            return null;
        }

        var address = new SocketAddress(family, length);
        bytes[..length].CopyTo(address.Buffer.Span);
        return (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(address);
    }

    private ref Direction Dir(int from) => ref from == ClientSide ? ref _toUpstream : ref _toClient;

    private static int Other(int side) => 1 - side;

    /// <summary>One direction of the relay: what waits for the destination, the pipe while bulk data flows, EOF, the byte count.</summary>
    private struct Direction
    {
        public byte[]? Pending;
        public int PendingOffset;
        public int PendingCount;
        public Pipe Pipe;
        public bool HasPipe;
        public int PipeCount;
        public bool SourceEnding;
        public bool Ended;
        public ByteTally Tally;
    }
}
