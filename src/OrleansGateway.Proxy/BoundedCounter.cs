namespace OrleansGateway.Proxy;

/// <summary>
/// Open connections against a limit, lock-free: a tenant's on this edge, the process's, a listener's, a client source's,
/// the TLS handshakes in progress. A compare-and-swap loop rather than increment-then-undo: an increment over the limit
/// that is undone a moment later would make a concurrent connection see the counter full and be refused wrongly.
/// </summary>
internal sealed class BoundedCounter(int limit = int.MaxValue)
{
    /// <summary>The count of a retired counter (<see cref="TryRetire"/>), which admits nothing more.</summary>
    private const int Retired = -1;

    private int _active;
    private int _limit = limit;
    private long _refused;

    public int Active => Math.Max(0, Volatile.Read(ref _active));
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary><see cref="int.MaxValue"/>: unlimited.</summary>
    public int Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, value);
    }

    /// <summary>Whether one more would be admitted now (a refusal is counted when not); takes nothing.</summary>
    public bool HasRoom()
    {
        if (Volatile.Read(ref _active) < Limit)
        {
            return true;
        }

        Interlocked.Increment(ref _refused);
        return false;
    }

    public bool TryAcquire() => TryAcquireLive() == true;

    /// <summary>True: admitted; false: at the limit (counted); null: the counter was retired, use a new one.</summary>
    public bool? TryAcquireLive()
    {
        var limit = Limit;
        var current = Volatile.Read(ref _active);
        while (true)
        {
            if (current == Retired)
            {
                return null;
            }

            if (current >= limit)
            {
                Interlocked.Increment(ref _refused);
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _active, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }

    public void Release() => Interlocked.Decrement(ref _active);

    /// <summary>
    /// A counter of a dictionary entry that is empty is retired (it admits nothing more) so that its entry can be
    /// removed without losing a concurrent admission: that admission sees it retired and takes a new entry.
    /// </summary>
    public bool TryRetire() => Interlocked.CompareExchange(ref _active, Retired, 0) == 0;
}
