using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Net.Sockets;

namespace OrleansGateway.Proxy;

/// <summary>
/// One end of a proxied connection as the copy loops see it. Cleartext uses the socket directly (no stream layer);
/// TLS goes through the <see cref="SslStream"/>. Both support zero-byte reads.
/// </summary>
internal abstract class ConnectionSide(Socket socket)
{
    public Socket Socket { get; } = socket;

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

    /// <summary>Releases what sits above the socket; called once both copy loops are done.</summary>
    public virtual void DisposeStream()
    {
    }
}

internal sealed class SocketSide(Socket socket) : ConnectionSide(socket)
{
    public override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => Socket.ReceiveAsync(buffer, SocketFlags.None);

    // Pooled builder: when a send has to wait (slow reader), the state machine comes from a pool instead of the heap.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask SendAsync(ReadOnlyMemory<byte> data)
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

internal sealed class TlsSide(Socket socket, SslStream stream) : ConnectionSide(socket)
{
    public SslStream Stream { get; } = stream;

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
