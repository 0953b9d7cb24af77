using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace OrleansGateway.Api;

/// <summary>
/// Token buckets by partition key, without a timer: a bucket holds one second's worth of requests and is refilled at
/// its rate when it is asked (the time since it was last asked times the rate), and buckets full and unused for
/// <see cref="IdleLimit"/> are dropped by a request, at most once per <see cref="IdleLimit"/>. The runtime's
/// <c>PartitionedRateLimiter.Create</c> refills and drops on a 100 ms heartbeat timer of its own, which woke an idle
/// gateway ten times a second per limiter (docs/benchmarks.md, "Idle"); here an idle gateway costs nothing and a request
/// costs one refill of its own bucket. (The runtime's <c>TokenBucketRateLimiter</c> cannot be refilled lazily: a full
/// bucket keeps its old refill time, so its next refill would fill it again at once.)
/// </summary>
/// <param name="partition">The request's key and rate (requests per second); a null key is not limited.</param>
internal sealed class TokenBuckets(Func<HttpContext, (string? Key, int PerSecond)> partition, TimeProvider time) : PartitionedRateLimiter<HttpContext>
{
    /// <summary>A bucket full and unused for this long is dropped (a new one for its key starts full: the same).</summary>
    public static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private long _droppedAt = time.GetTimestamp();

    /// <summary>How many buckets are held now (for tests).</summary>
    internal int Count => _buckets.Count;

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        var (key, perSecond) = partition(resource);
        if (key is null || permitCount == 0)
        {
            return Lease.Acquired;
        }

        var now = time.GetTimestamp();
        var lease = _buckets.GetOrAdd(key, static (_, start) => new Bucket(start.PerSecond, start.Now), (PerSecond: perSecond, Now: now))
            .Take(permitCount, now, time.TimestampFrequency);
        DropIdle(now);
        return lease;
    }

    // Nothing waits: a request over its rate is refused at once (no queue).
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken)
        => ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    /// <summary>Drops the buckets full and unused for <see cref="IdleLimit"/>, at most once per <see cref="IdleLimit"/>.</summary>
    private void DropIdle(long now)
    {
        var dropped = Interlocked.Read(ref _droppedAt);
        if (time.GetElapsedTime(dropped, now) < IdleLimit || Interlocked.CompareExchange(ref _droppedAt, now, dropped) != dropped)
        {
            return;
        }

        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.IdleFor(now, time.TimestampFrequency) >= IdleLimit)
            {
                // A request that took it just before is served by it; the next one gets a new, full bucket (the same).
                _buckets.TryRemove(key, out _);
            }
        }
    }

    /// <summary>One key's bucket: at most <c>perSecond</c> tokens, refilled at <c>perSecond</c> a second.</summary>
    private sealed class Bucket(int perSecond, long now)
    {
        private readonly Lock _lock = new();
        private double _tokens = perSecond;
        private long _refilledAt = now;
        private long _usedAt = now;

        public RateLimitLease Take(int count, long now, long frequency)
        {
            lock (_lock)
            {
                Refill(now, frequency);
                _usedAt = now;
                if (_tokens >= count)
                {
                    _tokens -= count;
                    return Lease.Acquired;
                }

                // When enough tokens will be there (at least a second, as the runtime's buckets answer).
                return new Lease(TimeSpan.FromSeconds(Math.Max(1, (count - _tokens) / perSecond)));
            }
        }

        /// <summary>How long it has been full and unused; zero while it is not full.</summary>
        public TimeSpan IdleFor(long now, long frequency)
        {
            lock (_lock)
            {
                Refill(now, frequency);
                return _tokens >= perSecond ? TimeSpan.FromSeconds((double)(now - _usedAt) / frequency) : TimeSpan.Zero;
            }
        }

        private void Refill(long now, long frequency)
        {
            _tokens = Math.Min(perSecond, _tokens + ((double)(now - _refilledAt) / frequency * perSecond));
            _refilledAt = now;
        }
    }

    /// <summary>Acquired, or refused with when to retry (<see cref="MetadataName.RetryAfter"/>).</summary>
    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Acquired = new(null);

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter is { } after && metadataName == MetadataName.RetryAfter.Name ? after : null;
            return metadata is not null;
        }
    }
}
