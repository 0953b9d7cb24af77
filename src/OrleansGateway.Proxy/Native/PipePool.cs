namespace OrleansGateway.Proxy.Native;

/// <summary>A pipe for splice(2): socket → <see cref="Write"/>, <see cref="Read"/> → socket.</summary>
internal readonly record struct Pipe(int Read, int Write);

/// <summary>
/// The pipes of one <see cref="EventLoop"/>. A direction of a connection holds a pipe only while it moves bulk data
/// and gives it back empty, so an idle connection holds none; a few empty pipes are kept for the next bulk transfer
/// instead of two system calls to create and two to close each time. Loop thread only.
/// </summary>
internal sealed unsafe class PipePool : IDisposable
{
    /// <summary>Empty pipes kept per loop; more are closed when given back.</summary>
    private const int MaxIdle = 32;

    private readonly Stack<Pipe> _idle = new();

    public PipePool(bool enabled) => Enabled = enabled;

    /// <summary>False when splice is off (option) or the kernel refused it: relays then copy through the loop's buffer.</summary>
    public bool Enabled { get; private set; }

    /// <summary>How much one pipe holds (the kernel's default pipe size, read once).</summary>
    public int Capacity { get; private set; } = 64 * 1024;

    /// <summary>Pipes open now, idle or in use (for tests of the fd discipline).</summary>
    public int Open { get; private set; }

    public bool TryRent(out Pipe pipe)
    {
        if (_idle.TryPop(out pipe))
        {
            return true;
        }

        var fds = stackalloc int[2];
        if (!Enabled || Libc.Pipe2(fds, Libc.O_NONBLOCK | Libc.O_CLOEXEC) != 0)
        {
            // Out of fds: this transfer copies through the buffer instead.
            pipe = default;
            return false;
        }

        if (Open == 0 && Libc.Fcntl(fds[0], Libc.F_GETPIPE_SZ, 0) is > 0 and var size)
        {
            Capacity = size;
        }

        Open++;
        pipe = new Pipe(fds[0], fds[1]);
        return true;
    }

    /// <summary>Takes back an empty pipe.</summary>
    public void Return(Pipe pipe)
    {
        if (Enabled && _idle.Count < MaxIdle)
        {
            _idle.Push(pipe);
        }
        else
        {
            Discard(pipe);
        }
    }

    /// <summary>Closes a pipe that may still hold data (its connection ended): it is never reused.</summary>
    public void Discard(Pipe pipe)
    {
        Libc.Close(pipe.Read);
        Libc.Close(pipe.Write);
        Open--;
    }

    /// <summary>The kernel refused splice for these fds (EINVAL, ENOSYS): copy from now on.</summary>
    public void Disable()
    {
        Enabled = false;
        while (_idle.TryPop(out var pipe))
        {
            Discard(pipe);
        }
    }

    public void Dispose()
    {
        while (_idle.TryPop(out var pipe))
        {
            Discard(pipe);
        }
    }
}
