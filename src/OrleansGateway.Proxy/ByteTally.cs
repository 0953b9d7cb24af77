namespace OrleansGateway.Proxy;

/// <summary>
/// The byte count of one direction of a connection and its batching into <c>ogw.proxy.bytes</c>, for both engines
/// (a metric update per message was a measurable share of the relay's CPU, docs/benchmarks.md): the pending bytes are
/// added when <see cref="ProxyConnection.BytesReportBatch"/> are pending, before the direction waits for more data when
/// the last addition is older than <see cref="ProxyConnection.BytesReportInterval"/>, and at the end. A struct inside
/// its direction: nothing allocated.
/// </summary>
internal struct ByteTally
{
    private long _unreported;
    private long _reportedAt;
    private long _sentAt; // the clock read that stamped the last relayed message, reused for the batching

    /// <summary>Bytes relayed in this direction (the access log reads it once the direction is done).</summary>
    public long Relayed { get; private set; }

    public readonly bool HasUnreported => _unreported > 0;

    public void Start(long now) => _reportedAt = _sentAt = now;

    /// <summary><paramref name="count"/> bytes went out at <paramref name="now"/>; true when a batch is full and must be reported.</summary>
    public bool Sent(int count, long now)
    {
        _sentAt = now;
        Relayed += count;
        _unreported += count;
        return _unreported >= ProxyConnection.BytesReportBatch;
    }

    /// <summary>Before a wait for more data: true when pending bytes have waited a whole interval.</summary>
    public readonly bool DueBeforeWait(TimeProvider time)
        => _unreported > 0 && time.GetElapsedTime(_reportedAt, _sentAt) >= ProxyConnection.BytesReportInterval;

    /// <summary>The pending bytes, now reported.</summary>
    public long Take()
    {
        var count = _unreported;
        _unreported = 0;
        _reportedAt = _sentAt;
        return count;
    }
}
