using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Proxy;

/// <summary>Which edge-wide connection limit refused a connection; the tag of <c>ogw.proxy.connection_refusals</c>.</summary>
internal enum ConnectionLimit
{
    MaxConnections,
    MaxConnectionsPerListener,
    MaxConnectionsPerSource,
    MaxTlsHandshakes,
}

/// <summary>
/// What a connection took at accept and gives back at its end (<see cref="ConnectionLimits.Release"/>): a place in the
/// process-wide, listener and source counts, and on a TLS-inspecting listener a place in the handshake budget until
/// its route and handshake are done.
/// </summary>
internal readonly record struct Admission(BoundedCounter? Source, bool Handshake);

/// <summary>
/// The limits that protect every tenant from the others' clients (docs/data-plane.md, "Connection limits"), checked
/// at accept, before a connection object exists: process-wide (<see cref="ProxyOptions.MaxConnections"/>), per
/// listener, per client source address, and concurrent TLS handshakes. Lock-free: compare-and-swap counters; a
/// source's counter lives in a dictionary only while that source has connections. A refusal closes the socket at
/// once, is counted in <c>ogw.proxy.connection_refusals{reason}</c> and logged at most once per
/// <see cref="LogInterval"/> per reason, with the count since the last line.
/// </summary>
internal sealed class ConnectionLimits
{
    /// <summary>At most one warning per limit in this period, however many connections it refuses.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    /// <summary>Stands for "no per-source limit": shared, never retired, never in the dictionary.</summary>
    private static readonly BoundedCounter Unlimited = new(int.MaxValue);

    private readonly ProxyOptions _options;
    private readonly ProxyMetrics _metrics;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly BoundedCounter _total;
    private readonly BoundedCounter _handshakes;
    private readonly ConcurrentDictionary<UInt128, BoundedCounter> _sources = new();
    private readonly RefusalLog[] _refusalLogs = [new(), new(), new(), new()];

    public ConnectionLimits(ProxyOptions options, ProxyMetrics metrics, ILogger log, TimeProvider time)
    {
        _options = options;
        _metrics = metrics;
        _log = log;
        _time = time;
        _total = new BoundedCounter(Limit(options.MaxConnections));
        _handshakes = new BoundedCounter(Limit(options.MaxTlsHandshakes));
    }

    /// <summary>Open client connections of this server (all listeners, draining ones included).</summary>
    public int Total => _total.Active;

    /// <summary>Connections still before the end of their TLS handshake (or route decision) on TLS-inspecting listeners.</summary>
    public int Handshakes => _handshakes.Active;

    /// <summary>A listener's own counter, with the per-listener limit.</summary>
    public BoundedCounter NewListenerCounter() => new(Limit(_options.MaxConnectionsPerListener));

    /// <summary>0 or less: no limit.</summary>
    private static int Limit(int value) => value > 0 ? value : int.MaxValue;

    /// <summary>
    /// Admits a connection from <paramref name="source"/> (<see cref="SourceKey"/>) on <paramref name="listener"/>, or
    /// names the limit that refuses it (counted and logged; the caller closes the socket and creates nothing).
    /// </summary>
    public ConnectionLimit? TryAdmit(ProxyListener listener, ListenerSnapshot snapshot, UInt128 source, out Admission admission)
    {
        admission = default;
        if (!_total.TryAcquire())
        {
            return Refused(ConnectionLimit.MaxConnections, snapshot, source);
        }

        if (!listener.Admitted.TryAcquire())
        {
            _total.Release();
            return Refused(ConnectionLimit.MaxConnectionsPerListener, snapshot, source);
        }

        // Behind a PROXY-speaking peer the peer is not the client: the source is counted once the header names it
        // (TryAdmitSource), so one load balancer's clients are limited each by its own address, not all together.
        var sourceCounter = snapshot.Plan.ProxyProtocol ? null : AcquireSource(source);
        if (sourceCounter is null && !snapshot.Plan.ProxyProtocol)
        {
            listener.Admitted.Release();
            _total.Release();
            return Refused(ConnectionLimit.MaxConnectionsPerSource, snapshot, source);
        }

        // A PROXY header is a preamble like a ClientHello: a peer that stalls it holds a place in the same budget.
        var handshake = snapshot.Plan.TlsInspected || snapshot.Plan.ProxyProtocol;
        if (handshake && !_handshakes.TryAcquire())
        {
            if (sourceCounter is not null)
            {
                ReleaseSource(source, sourceCounter);
            }

            listener.Admitted.Release();
            _total.Release();
            return Refused(ConnectionLimit.MaxTlsHandshakes, snapshot, source);
        }

        admission = new Admission(sourceCounter, handshake);
        return null;
    }

    /// <summary>
    /// On a listener whose stack has PROXY: the per-source count of the client the header names (<see cref="SourceKey"/>
    /// of its source), taken once the header is read; null when that source is at the limit (counted and logged as a
    /// refusal at accept; the caller ends the connection).
    /// </summary>
    public BoundedCounter? TryAdmitSource(ListenerSnapshot snapshot, UInt128 source)
    {
        if (AcquireSource(source) is { } counter)
        {
            return counter;
        }

        Refused(ConnectionLimit.MaxConnectionsPerSource, snapshot, source);
        return null;
    }

    /// <summary>The handshake budget's place, given back once the route and the client handshake are done.</summary>
    public void HandshakeDone() => _handshakes.Release();

    /// <summary>The connection's end: what <see cref="TryAdmit"/> took (the handshake place if still held).</summary>
    public void Release(ProxyListener listener, UInt128 source, BoundedCounter? sourceCounter, bool handshakeHeld)
    {
        if (handshakeHeld)
        {
            _handshakes.Release();
        }

        if (sourceCounter is not null)
        {
            ReleaseSource(source, sourceCounter);
        }

        listener.Admitted.Release();
        _total.Release();
    }

    /// <summary>
    /// The source's counter with one more connection, or null at the limit. A counter whose count went to zero is
    /// retired (<see cref="BoundedCounter.TryRetire"/>) and removed; an admission that finds a retired one takes a new one.
    /// </summary>
    private BoundedCounter? AcquireSource(UInt128 source)
    {
        var limit = Limit(_options.MaxConnectionsPerSource);
        if (limit == int.MaxValue)
        {
            return Unlimited;
        }

        while (true)
        {
            var counter = _sources.TryGetValue(source, out var found) ? found : _sources.GetOrAdd(source, static (_, l) => new BoundedCounter(l), limit);
            switch (counter.TryAcquireLive())
            {
                case true:
                    return counter;
                case false:
                    return null;
                default:
                    // Retired by its last release a moment ago: help remove it, then take a fresh one.
                    _sources.TryRemove(new KeyValuePair<UInt128, BoundedCounter>(source, counter));
                    break;
            }
        }
    }

    private void ReleaseSource(UInt128 source, BoundedCounter counter)
    {
        if (ReferenceEquals(counter, Unlimited))
        {
            return;
        }

        counter.Release();
        if (counter.TryRetire())
        {
            _sources.TryRemove(new KeyValuePair<UInt128, BoundedCounter>(source, counter));
        }
    }

    /// <summary>Sources with open connections (for tests: the dictionary does not grow with sources that left).</summary>
    public int TrackedSources => _sources.Count;

    private ConnectionLimit Refused(ConnectionLimit limit, ListenerSnapshot snapshot, UInt128 source)
    {
        _metrics.LimitRefusals.Add(1, ProxyMetrics.With(snapshot.Tags, "reason", ReasonTag(limit)));
        var log = _refusalLogs[(int)limit];
        if (log.Due(_time, out var count))
        {
            ProxyLog.LimitRefused(_log, count, OptionName(limit), LimitValue(limit), snapshot.Plan.Endpoint.ToString(), SourceText(source), LogInterval);
        }

        return limit;
    }

    private int LimitValue(ConnectionLimit limit) => limit switch
    {
        ConnectionLimit.MaxConnections => _options.MaxConnections,
        ConnectionLimit.MaxConnectionsPerListener => _options.MaxConnectionsPerListener,
        ConnectionLimit.MaxConnectionsPerSource => _options.MaxConnectionsPerSource,
        _ => _options.MaxTlsHandshakes,
    };

    /// <summary>The metric's reason tag: the limit's option name without dashes.</summary>
    public static string ReasonTag(ConnectionLimit limit) => limit switch
    {
        ConnectionLimit.MaxConnections => "max_connections",
        ConnectionLimit.MaxConnectionsPerListener => "max_connections_per_listener",
        ConnectionLimit.MaxConnectionsPerSource => "max_connections_per_source",
        _ => "max_tls_handshakes",
    };

    /// <summary>The gateway option that sets the limit, so that the log line says what to raise.</summary>
    public static string OptionName(ConnectionLimit limit) => "--" + ReasonTag(limit).Replace('_', '-');

    /// <summary>An address as a 128-bit key: IPv4 as its IPv4-mapped IPv6 form, so both spellings of one client are one source.</summary>
    public static UInt128 SourceKey(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint ip)
        {
            return UInt128.Zero;
        }

        Span<byte> bytes = stackalloc byte[16];
        var address = ip.Address.AddressFamily == AddressFamily.InterNetwork ? ip.Address.MapToIPv6() : ip.Address;
        return address.TryWriteBytes(bytes, out _) ? BinaryPrimitives.ReadUInt128BigEndian(bytes) : UInt128.Zero;
    }

    /// <summary>The key of a sockaddr_in / sockaddr_in6 as accept4 wrote it (the native engine).</summary>
    public static UInt128 SourceKey(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length >= 8 && BitConverter.ToUInt16(sockaddr) == Native.Libc.AF_INET)
        {
            return ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(sockaddr[4..8]);
        }

        return sockaddr.Length >= 24 && BitConverter.ToUInt16(sockaddr) == Native.Libc.AF_INET6
            ? BinaryPrimitives.ReadUInt128BigEndian(sockaddr[8..24])
            : UInt128.Zero;
    }

    private static string SourceText(UInt128 source)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, source);
        var address = new IPAddress(bytes);
        return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    }

    /// <summary>One limit's log: refusals since the last line, and when that was.</summary>
    private sealed class RefusalLog
    {
        private long _pending;
        private long _lastLogged = long.MinValue;

        /// <summary>Counts one refusal; true (with the count to report) when a line is due.</summary>
        public bool Due(TimeProvider time, out long count)
        {
            Interlocked.Increment(ref _pending);
            var now = time.GetTimestamp();
            var last = Interlocked.Read(ref _lastLogged);
            if (last != long.MinValue && time.GetElapsedTime(last, now) < LogInterval || Interlocked.CompareExchange(ref _lastLogged, now, last) != last)
            {
                count = 0;
                return false;
            }

            count = Interlocked.Exchange(ref _pending, 0);
            return true;
        }
    }
}
