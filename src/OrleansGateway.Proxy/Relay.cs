namespace OrleansGateway.Proxy;

/// <summary>An end of a proxied connection.</summary>
internal enum Peer
{
    Client,
    Upstream,
}

/// <summary>
/// The relay of one connection once both sides are ready: a <see cref="Pump"/> per direction and what they share.
/// <list type="bullet">
/// <item>Half-close: an EOF from one peer becomes a FIN (after close_notify on TLS) towards the other, whose direction
/// keeps flowing; when both ended, the close reason is the peer that finished first.</item>
/// <item>Resets: a failed receive from a peer or send to it resets the other peer (RST: data may have been lost) and
/// ends the connection.</item>
/// <item>The byte counter per direction and the idle timer, stamped by both pumps.</item>
/// </list>
/// The connection hands it the two sides and the bytes already read, and reads back what the access log needs; a
/// different relay engine would take its place behind those members.
/// </summary>
internal sealed class Relay
{
    private const int NotYet = -1;

    private readonly ProxyConnection _connection;
    private readonly UpstreamEntry _upstream;
    private readonly ProxyRuntime _runtime;
    private readonly Pump _toUpstream;
    private readonly Pump _toClient;
    private byte[]? _alreadyRead;
    private IdleTimer _idle;
    private int _firstEof = NotYet;
    private int _halfClosed;

    /// <param name="alreadyRead">Client bytes read before the relay (a peeked ClientHello): the upstream gets them first.</param>
    public Relay(ProxyConnection connection, ConnectionSide client, ConnectionSide upstream, UpstreamEntry entry, ProxyRuntime runtime, byte[]? alreadyRead)
    {
        _connection = connection;
        _upstream = entry;
        _runtime = runtime;
        _alreadyRead = alreadyRead;
        _toUpstream = new Pump(this, client, upstream, Peer.Client, runtime);
        _toClient = new Pump(this, upstream, client, Peer.Upstream, runtime);
    }

    public long BytesUp => _toUpstream.Relayed;

    public long BytesDown => _toClient.Relayed;

    /// <summary><see cref="CloseReason.ClientClosed"/> or <see cref="CloseReason.UpstreamClosed"/>: whose EOF came first; null while neither.</summary>
    public CloseReason? FirstEnded => Volatile.Read(ref _firstEof) is var eof and not NotYet ? (CloseReason)eof : null;

    /// <summary>Both directions ended with EOF and both FINs were sent: nothing is pending or unread.</summary>
    public bool BothEnded => Volatile.Read(ref _halfClosed) == 2;

    /// <summary>Forwards the bytes already read, then relays both ways until both directions are done.</summary>
    public async Task RunAsync()
    {
        if (_alreadyRead is { } alreadyRead)
        {
            _alreadyRead = null; // not kept for the connection's life
            if (!await _toUpstream.ForwardAsync(alreadyRead).ConfigureAwait(false))
            {
                return;
            }
        }

        _idle.Start(_upstream.Plan.IdleTimeout ?? _runtime.Options.DefaultIdleTimeout, _runtime.Time, static s => ((Relay)s!).CheckIdle(), this);
        var toUpstream = _toUpstream.RunAsync();
        var toClient = _toClient.RunAsync();
        await toUpstream.ConfigureAwait(false);
        await toClient.ConfigureAwait(false);
    }

    /// <summary>Called once the connection is over.</summary>
    public void Stop() => _idle.Stop();

    /// <summary>A byte moved (either direction) at <paramref name="timestamp"/>.</summary>
    public void Touch(long timestamp) => _idle.Touch(timestamp);

    public void CountBytes(Peer from, long count) => _runtime.Metrics.AddBytes(_upstream, from, count);

    /// <summary>
    /// A receive from <paramref name="peer"/> or a send to it failed: it reset or is gone. The other peer is reset so it
    /// stops sending into the void, and the connection ends. After an abort, failures are the abort's own doing.
    /// </summary>
    public void Broke(Peer peer)
    {
        if (!_connection.IsAborted)
        {
            _connection.Abort(peer == Peer.Client ? CloseReason.ClientReset : CloseReason.UpstreamReset,
                resetClient: peer == Peer.Upstream, resetUpstream: peer == Peer.Client);
        }
    }

    /// <summary>
    /// EOF from <paramref name="from"/> becomes a half-close towards the other peer's side <paramref name="to"/>; the
    /// opposite direction keeps flowing. The second EOF of a cleartext connection sends no shutdown: the connection
    /// closes right after, and closing a socket whose input was read to EOF sends the same FIN (one system call less).
    /// </summary>
    public async Task EndOfStreamAsync(Peer from, ConnectionSide to)
    {
        var reason = from == Peer.Client ? CloseReason.ClientClosed : CloseReason.UpstreamClosed;
        var first = Interlocked.CompareExchange(ref _firstEof, (int)reason, NotYet) == NotYet;
        if (!first && to is SocketSide && Volatile.Read(ref _halfClosed) == 1)
        {
            // Safe because the connection closes the sockets only after both pumps ended: no receive is pending on
            // either when it does (a pending one would make the close abortive, an RST instead of the FIN).
            Interlocked.Increment(ref _halfClosed);
            return;
        }

        try
        {
            await to.ShutdownSendAsync().ConfigureAwait(false);
            Interlocked.Increment(ref _halfClosed);
        }
        catch (Exception)
        {
            // The other side is already gone; its own pump reports how.
        }
    }

    private void CheckIdle()
    {
        if (_idle.Expired(_runtime.Time))
        {
            _runtime.Metrics.IdleTimeouts.Add(1, _upstream.Tags);
            _connection.Abort(CloseReason.IdleTimeout, resetClient: false, resetUpstream: false);
        }
    }
}
