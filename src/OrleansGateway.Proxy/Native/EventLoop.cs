using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Proxy.Native;

/// <summary>Something registered in an <see cref="EventLoop"/>'s epoll set: a listening socket or a connection.</summary>
internal interface IEventHandler
{
    /// <summary>Events for the handler's fd <paramref name="side"/> (0 or 1: a connection registers two fds).</summary>
    void OnEvents(int side, uint events);

    /// <summary>The loop stops: close what is still open (the fds are the handler's to close).</summary>
    void OnLoopStopping();

    /// <summary>A bug: <see cref="OnEvents"/> threw. Close what is open; the loop goes on with its other handlers.</summary>
    void OnFailed(Exception exception);
}

/// <summary>Work handed to a loop from another thread (a timer, a resolution, an apply); runs on the loop's thread.</summary>
internal interface ILoopWork
{
    void Run(EventLoop loop);
}

/// <summary>
/// One thread with its own epoll set (docs/data-plane.md, "The native relay engine"). Every fd registered here is
/// touched only by this thread, from its registration to its close, so no fd is used after its close or closed twice
/// by a race; other threads hand work over with <see cref="Post"/> (a queue and an eventfd). Edge-triggered events
/// for connections, level-triggered for listening sockets. Blocks in <c>epoll_wait</c> without a timeout: an idle loop
/// costs no CPU.
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16 bytes).</summary>
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly int _epoll;
    private readonly int _wake;

    // The eventfd other threads write to. A timer may still post after the loop stopped; the handle's reference count
    // keeps its fd number from being closed (and reused by another file) under such a write.
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _wakeHandle;
    private readonly byte* _events;
    private readonly ConcurrentQueue<ILoopWork> _posted = new();
    private readonly Thread _thread;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Slot[] _slots = new Slot[256];
    private int _freeSlot = -1;
    private int _highWater;
    private int _usedSlots;
    private int _signalled;
    private volatile bool _stopping;

    public EventLoop(int index, int bufferSize, bool splice, TimeProvider time, ILogger log)
    {
        Index = index;
        _time = time;
        _log = log;
        _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed (errno {Libc.Errno})");
        }

        _wake = Libc.EventFd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_wake < 0 || !Add(_wake, Libc.EPOLLIN, WakeToken))
        {
            var errno = Libc.Errno;
            Libc.Close(_epoll);
            if (_wake >= 0)
            {
                Libc.Close(_wake);
            }

            throw new InvalidOperationException($"eventfd failed (errno {errno})");
        }

        _wakeHandle = new Microsoft.Win32.SafeHandles.SafeFileHandle(_wake, ownsHandle: true);
        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventSize));
        BufferSize = bufferSize;
        Buffer = (byte*)NativeMemory.Alloc((nuint)bufferSize);
        Pipes = new PipePool(splice);
        Now = time.GetTimestamp();
        _thread = new Thread(Run) { IsBackground = true, Name = $".NET OGW relay {index}" };
    }

    public int Index { get; }

    /// <summary>The receive buffer every connection of this loop shares: a message is sent on before the next is read.</summary>
    public byte* Buffer { get; }

    public int BufferSize { get; }

    /// <summary>Pipes for splice(2), reused by the connections of this loop.</summary>
    public PipePool Pipes { get; }

    /// <summary>The time of the current wake-up (one clock read per <c>epoll_wait</c> return, not per message).</summary>
    public long Now { get; private set; }

    /// <summary>Connections and listening sockets registered now (for tests and the fd discipline).</summary>
    public int Registered => Volatile.Read(ref _usedSlots);

    /// <summary>Completes when the thread has left its loop and closed its own fds.</summary>
    public Task Stopped => _stopped.Task;

    public bool OnLoopThread => Thread.CurrentThread == _thread;

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="work"/> on this loop's thread soon. Any thread. Dropped once the loop has stopped.</summary>
    public void Post(ILoopWork work)
    {
        _posted.Enqueue(work);
        if (Interlocked.Exchange(ref _signalled, 1) != 0)
        {
            return;
        }

        var added = false;
        try
        {
            _wakeHandle.DangerousAddRef(ref added);
            ulong one = 1;
            Libc.Write(_wake, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // Stopped: nothing runs posted work any more.
        }
        finally
        {
            if (added)
            {
                _wakeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Reserves a slot for <paramref name="handler"/>; its fds are then registered with <see cref="Add"/>.</summary>
    public int Reserve(IEventHandler handler)
    {
        int slot;
        if (_freeSlot >= 0)
        {
            slot = _freeSlot;
            _freeSlot = _slots[slot].NextFree;
        }
        else
        {
            slot = _highWater++;
            if (slot == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
            }
        }

        _slots[slot].Handler = handler;
        _slots[slot].NextFree = -1;
        Volatile.Write(ref _usedSlots, _usedSlots + 1);
        return slot;
    }

    /// <summary>
    /// Frees a slot. Its generation changes, so an event of the same <c>epoll_wait</c> batch for an fd that was closed
    /// meanwhile (and whose number may already be reused) is recognised as stale and dropped.
    /// </summary>
    public void Release(int slot)
    {
        _slots[slot].Handler = null;
        _slots[slot].Generation++;
        _slots[slot].NextFree = _freeSlot;
        _freeSlot = slot;
        Volatile.Write(ref _usedSlots, _usedSlots - 1);
    }

    /// <summary>Registers <paramref name="fd"/> of <paramref name="slot"/>'s handler as <paramref name="side"/>.</summary>
    public bool Register(int fd, int slot, int side, uint events)
        => Add(fd, events, ((ulong)_slots[slot].Generation << 32) | (uint)((slot << 1) | side));

    /// <summary>Changes the events of a registered fd (level-triggered listening sockets pause and resume this way).</summary>
    public bool Modify(int fd, int slot, int side, uint events)
    {
        var data = stackalloc byte[16];
        Fill(data, events, ((ulong)_slots[slot].Generation << 32) | (uint)((slot << 1) | side));
        return Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_MOD, fd, data) == 0;
    }

    /// <summary>Removes an fd before it is closed by a thread other than this one's (a listening socket's owner).</summary>
    public void Unregister(int fd) => Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_DEL, fd, null);

    /// <summary>Every handler registered now (to abort the connections of a listener, or all at stop).</summary>
    public void ForEach<TState>(Action<IEventHandler, TState> action, TState state)
    {
        // A copy: the action may release slots.
        var handlers = new List<IEventHandler>(_usedSlots);
        foreach (var slot in _slots)
        {
            if (slot.Handler is { } handler)
            {
                handlers.Add(handler);
            }
        }

        foreach (var handler in handlers)
        {
            action(handler, state);
        }
    }

    /// <summary>Stops the loop: every handler still registered is told to close, then the loop's own fds are closed.</summary>
    public void Stop() => Post(new StopWork());

    public void Dispose()
    {
        // The thread owns the fds; a loop that never started has nothing running on them.
        if (!_thread.IsAlive && _thread.ThreadState.HasFlag(ThreadState.Unstarted))
        {
            CloseOwn();
        }
    }

    private bool Add(int fd, uint events, ulong token)
    {
        var data = stackalloc byte[16];
        Fill(data, events, token);
        return Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, fd, data) == 0;
    }

    private static void Fill(byte* data, uint events, ulong token)
    {
        *(uint*)data = events;
        *(ulong*)(data + DataOffset) = token;
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                var count = Libc.EpollWait(_epoll, _events, MaxEvents, -1);
                if (count < 0)
                {
                    var errno = Libc.Errno;
                    if (errno == Libc.EINTR)
                    {
                        continue;
                    }

                    ProxyLog.LoopFailed(_log, Index, $"epoll_wait failed (errno {errno})");
                    break;
                }

                Now = _time.GetTimestamp();
                for (var i = 0; i < count; i++)
                {
                    var entry = _events + (i * EventSize);
                    var events = *(uint*)entry;
                    var token = *(ulong*)(entry + DataOffset);
                    if (token == WakeToken)
                    {
                        ulong value;
                        Libc.Read(_wake, &value, sizeof(ulong));
                        Volatile.Write(ref _signalled, 0);
                        continue;
                    }

                    var slot = (int)((uint)token >> 1);
                    if (slot < _slots.Length && _slots[slot].Generation == (uint)(token >> 32) && _slots[slot].Handler is { } handler)
                    {
                        Dispatch(handler, (int)(token & 1), events);
                    }
                }

                RunPosted();
            }
        }
        finally
        {
            ForEach(static (handler, loop) => loop.Guard(handler.OnLoopStopping), this);
            RunPosted();
            CloseOwn();
            _stopped.TrySetResult();
        }
    }

    private void Dispatch(IEventHandler handler, int side, uint events)
    {
        try
        {
            handler.OnEvents(side, events);
        }
        catch (Exception e)
        {
            // A bug in one connection must not stop the loop and every other connection on it; the handler logs it.
            Failed(handler, e);
        }
    }

    // Its own method: a lambda capturing Dispatch's parameters would allocate its closure on every event.
    private void Failed(IEventHandler handler, Exception exception) => Guard(() => handler.OnFailed(exception));

    private void RunPosted()
    {
        while (_posted.TryDequeue(out var work))
        {
            try
            {
                work.Run(this);
            }
            catch (Exception e)
            {
                ProxyLog.HandlerFailed(_log, e, Index);
            }
        }
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            ProxyLog.HandlerFailed(_log, e, Index);
        }
    }

    private void CloseOwn()
    {
        _wakeHandle.Dispose();
        Libc.Close(_epoll);
        Pipes.Dispose();
        NativeMemory.Free(_events);
        NativeMemory.Free(Buffer);
    }

    private struct Slot
    {
        public IEventHandler? Handler;
        public uint Generation;
        public int NextFree;
    }

    private sealed class StopWork : ILoopWork
    {
        public void Run(EventLoop loop) => loop._stopping = true;
    }
}
