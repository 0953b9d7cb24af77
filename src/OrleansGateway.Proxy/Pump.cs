using System.Buffers;

namespace OrleansGateway.Proxy;

/// <summary>
/// One direction of a <see cref="Relay"/>: what the <c>from</c> side sends goes to the <c>to</c> side. A relay runs two,
/// told apart only by the <see cref="Peer"/> they read from; what differs between the directions (the close reason of an
/// EOF, which peer a failure blames, the byte counter's tags) is the relay's, asked with that value.
/// <para>
/// Waits for data with a zero-byte receive holding no buffer, rents one only when data is ready, and gives it back
/// whenever a receive did not fill it, so an idle connection holds no buffer. Nothing is allocated per message. The byte
/// counter is fed in batches instead of per message (a metric update per message was a measurable share of the copy
/// loop's CPU, docs/benchmarks.md): when <see cref="ProxyConnection.BytesReportBatch"/> bytes are pending, before a wait
/// for more data when the last addition is older than <see cref="ProxyConnection.BytesReportInterval"/>, and at the end.
/// </para>
/// </summary>
internal sealed class Pump
{
    private readonly Relay _relay;
    private readonly ConnectionSide _from;
    private readonly ConnectionSide _to;
    private readonly Peer _source;
    private readonly Peer _destination;
    private readonly TimeProvider _time;
    private readonly int _bufferSize;
    private long _unreported;
    private long _reportedAt;
    private long _sentAt; // the clock read that stamps each relayed message, reused for the batching

    public Pump(Relay relay, ConnectionSide from, ConnectionSide to, Peer source, ProxyRuntime runtime)
    {
        _relay = relay;
        _from = from;
        _to = to;
        _source = source;
        _destination = source == Peer.Client ? Peer.Upstream : Peer.Client;
        _time = runtime.Time;
        _bufferSize = runtime.Options.BufferSize;
        _reportedAt = _sentAt = _time.GetTimestamp();
    }

    /// <summary>Bytes relayed in this direction (the access log reads it once the pump is done).</summary>
    public long Relayed { get; private set; }

    /// <summary>
    /// Sends bytes read before the relay started (the peeked ClientHello of a passthrough), counted like any relayed
    /// message. False when the destination failed (the relay was told).
    /// </summary>
    public async ValueTask<bool> ForwardAsync(byte[] alreadyRead)
    {
        try
        {
            await _to.SendAsync(alreadyRead).ConfigureAwait(false);
        }
        catch (Exception)
        {
            _relay.Broke(_destination);
            return false;
        }

        Sent(alreadyRead.Length);
        return true;
    }

    /// <summary>Relays until EOF (then half-closes towards the destination) or a failure on either side.</summary>
    public async Task RunAsync()
    {
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    if (buffer is null)
                    {
                        ReportIfDue();
                        await _from.WaitReadableAsync().ConfigureAwait(false);
                        buffer = ArrayPool<byte>.Shared.Rent(_bufferSize);
                    }

                    read = await _from.ReceiveAsync(buffer).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    _relay.Broke(_source);
                    return;
                }

                if (read == ConnectionSide.NothingReady)
                {
                    // Woken without data after all: wait again without holding the buffer.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    continue;
                }

                if (read == 0)
                {
                    await _relay.EndOfStreamAsync(_source, _to).ConfigureAwait(false);
                    return;
                }

                _relay.Touch(_time.GetTimestamp());
                try
                {
                    await _to.SendAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    _relay.Broke(_destination);
                    return;
                }

                Sent(read);
                if (read < buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (_unreported > 0)
            {
                Report();
            }
        }
    }

    private void Sent(int count)
    {
        _sentAt = _time.GetTimestamp();
        _relay.Touch(_sentAt);
        Relayed += count;
        _unreported += count;
        if (_unreported >= ProxyConnection.BytesReportBatch)
        {
            Report();
        }
    }

    private void ReportIfDue()
    {
        if (_unreported > 0 && _time.GetElapsedTime(_reportedAt, _sentAt) >= ProxyConnection.BytesReportInterval)
        {
            Report();
        }
    }

    private void Report()
    {
        _relay.CountBytes(_source, _unreported);
        _unreported = 0;
        _reportedAt = _sentAt;
    }
}
