using System.Collections.Concurrent;

namespace OrleansGateway.Proxy;

/// <summary>
/// Lets a log line of one key through at most once per interval and counts the ones it held back, so a tenant whose
/// every connection is refused cannot flood the log (quiet by default: one line per minute says what happens and how
/// often). The keys are bounded: past <see cref="MaxKeys"/> the table starts again.
/// </summary>
internal sealed class LogRateLimiter(TimeProvider time, TimeSpan interval)
{
    public const int MaxKeys = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>True when a line for <paramref name="key"/> may be logged now; <paramref name="heldBack"/> lines were not since the last one.</summary>
    public bool TryEnter(string key, out int heldBack)
    {
        if (_entries.Count >= MaxKeys && !_entries.ContainsKey(key))
        {
            _entries.Clear();
        }

        var entry = _entries.GetOrAdd(key, static _ => new Entry());
        var now = time.GetTimestamp();
        lock (entry)
        {
            if (entry.Logged && time.GetElapsedTime(entry.LastLogged, now) < interval)
            {
                entry.HeldBack++;
                heldBack = 0;
                return false;
            }

            heldBack = entry.HeldBack;
            (entry.Logged, entry.LastLogged, entry.HeldBack) = (true, now, 0);
            return true;
        }
    }

    private sealed class Entry
    {
        public bool Logged;
        public long LastLogged;
        public int HeldBack;
    }
}
