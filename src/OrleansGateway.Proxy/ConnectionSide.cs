using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Net.Sockets;

namespace OrleansGateway.Proxy;

/// <summary>
/// One end of a proxied connection as the pumps see it. Cleartext uses the socket directly (no stream layer);
/// TLS goes through the <see cref="SslStream"/>. Both support zero-byte reads.
/// </summary>
internal abstract class ConnectionSide(Socket socket)
{
    /// <summary><see cref="ReceiveAsync"/>'s answer when nothing was ready after all: wait again.</summary>
    public const int NothingReady = -1;

    public Socket Socket { get; } = socket;

    /// <summary>Completes when data (or EOF, or an error) is ready to receive, holding no buffer meanwhile.</summary>
    /// <remarks>The result carries no meaning (it is the zero-byte receive's); awaiting it allocates nothing.</remarks>
    public abstract ValueTask<int> WaitReadableAsync();

    /// <summary>
    /// Receives what is ready into <paramref name="buffer"/>: the count, 0 at EOF, or <see cref="NothingReady"/>
    /// when nothing was (the caller gives its buffer back and waits again). Errors throw.
    /// </summary>
    public abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer);

    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> data);

    /// <summary>Half-close: the peer reads EOF, the other direction keeps flowing.</summary>
    public abstract ValueTask ShutdownSendAsync();

    /// <summary>
    /// Closes <paramref name="socket"/>; with <paramref name="reset"/> the peer gets an RST instead of a FIN.
    /// <paramref name="bothEnded"/>: both directions already ended (EOF read, FIN sent), so no shutdown is needed.
    /// </summary>
    public static void Close(Socket socket, bool reset, bool bothEnded = false)
    {
        if (bothEnded && !reset)
        {
            socket.Dispose();
            return;
        }

        try
        {
            if (reset)
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            else
            {
                // Disposing a socket with a pending receive is abortive on Linux (the peer sees an RST); an explicit
                // shutdown first sends the FIN and wakes the pending operations.
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed or never connected: nothing left to signal.
        }

        socket.Dispose();
    }

    /// <summary>Releases what sits above the socket; called once both pumps are done.</summary>
    public virtual void DisposeStream()
    {
    }
}

/// <summary>
/// A cleartext socket. The pump waits with an asynchronous zero-byte receive (no buffer held while idle), then
/// receives and sends with plain non-blocking system calls: data is ready by then and the send almost always fits
/// the socket buffer, so the asynchronous machinery (an operation, its completion and a continuation per call) is
/// only used for the wait and for a send that has to wait. Measured in docs/benchmarks.md ("What changed").
/// </summary>
internal sealed class SocketSide : ConnectionSide
{
    public SocketSide(Socket socket)
        : base(socket)
    {
        // Synchronous calls on a non-blocking socket return WouldBlock instead of waiting; asynchronous ones are
        // unaffected. A NetworkStream refuses such a socket, which is why TLS sides never get here.
        socket.Blocking = false;
    }

    public override ValueTask<int> WaitReadableAsync() => Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer)
    {
        var read = Socket.Receive(buffer.Span, SocketFlags.None, out var error);
        return error switch
        {
            SocketError.Success => new ValueTask<int>(read),
            SocketError.WouldBlock => new ValueTask<int>(NothingReady),
            _ => ValueTask.FromException<int>(new SocketException((int)error)),
        };
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        var sent = Socket.Send(data.Span, SocketFlags.None, out var error);
        if (error == SocketError.Success && sent == data.Length)
        {
            return ValueTask.CompletedTask;
        }

        if (error is not (SocketError.Success or SocketError.WouldBlock))
        {
            return ValueTask.FromException(new SocketException((int)error));
        }

        return SendRestAsync(data[(error == SocketError.Success ? sent : 0)..]);
    }

    // Pooled builder: when a send has to wait (slow reader), the state machine comes from a pool instead of the heap.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await Socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    public override ValueTask ShutdownSendAsync()
    {
        Socket.Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A TLS end: the gateway terminates the client's TLS or originates TLS to the upstream.</summary>
internal sealed class TlsSide(Socket socket, SslStream stream) : ConnectionSide(socket)
{
    public SslStream Stream { get; } = stream;

    /// <summary>The client's end of a terminated connection: the handshake reads <paramref name="clientHello"/> (the bytes already read while peeking) first, then the socket.</summary>
    public static TlsSide Terminating(Socket client, byte[] clientHello)
        => new(client, new SslStream(new ReplayStream(clientHello, new NetworkStream(client, ownsSocket: false)), leaveInnerStreamOpen: false));

    /// <summary>The upstream's end of an originated connection.</summary>
    public static TlsSide Originating(Socket upstream)
        => new(upstream, new SslStream(new NetworkStream(upstream, ownsSocket: false), leaveInnerStreamOpen: false));

    public override ValueTask<int> WaitReadableAsync() => Stream.ReadAsync(Memory<byte>.Empty);

    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => Stream.ReadAsync(buffer);

    public override ValueTask SendAsync(ReadOnlyMemory<byte> data) => Stream.WriteAsync(data);

    public override async ValueTask ShutdownSendAsync()
    {
        // close_notify first so the peer knows the TLS stream ended on purpose, then the TCP FIN.
        await Stream.ShutdownAsync().ConfigureAwait(false);
        Socket.Shutdown(SocketShutdown.Send);
    }

    public override void DisposeStream() => Stream.Dispose();
}

/// <summary>
/// The client's bytes for the TLS handshake: first the ClientHello bytes already read while peeking, then the
/// socket. Zero-byte reads complete at once while replayed bytes remain.
/// </summary>
internal sealed class ReplayStream(byte[] prefix, Stream inner) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => _position < prefix.Length ? ValueTask.FromResult(Replay(buffer.Span)) : inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
        => _position < prefix.Length ? Replay(buffer.AsSpan(offset, count)) : inner.Read(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Replay(Span<byte> destination)
    {
        var n = Math.Min(destination.Length, prefix.Length - _position);
        prefix.AsSpan(_position, n).CopyTo(destination);
        _position += n;
        return n;
    }
}
