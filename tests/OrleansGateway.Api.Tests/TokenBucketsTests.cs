using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Api;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// The API's token buckets (docs/api.md "Rate limits") on a fake clock: one second's worth of burst, refilled at the
/// rate when asked, idle buckets dropped by a request, and no timer of their own (quiet when idle).
/// </summary>
public sealed class TokenBucketsTests
{
    private readonly CountingClock _time = new();

    [Fact]
    public void A_key_bursts_one_second_s_worth_then_keeps_to_the_rate_and_others_are_not_slowed()
    {
        var buckets = new TokenBuckets(c => (c.Request.Headers["key"].ToString(), 3), _time);

        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(Acquire(buckets, "a").IsAcquired));
        using var refused = Acquire(buckets, "a");
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
        Assert.True(Acquire(buckets, "b").IsAcquired);

        // A third of a second refills one token, not more.
        _time.Advance(TimeSpan.FromSeconds(1.0 / 3) + TimeSpan.FromMilliseconds(1));
        Assert.True(Acquire(buckets, "a").IsAcquired);
        Assert.False(Acquire(buckets, "a").IsAcquired);

        // A long quiet time fills the bucket to one second's worth, not to the time's worth.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => Acquire(buckets, "a").IsAcquired));
    }

    [Fact]
    public void Requests_without_a_key_are_not_limited()
    {
        var buckets = new TokenBuckets(_ => (null, 1), _time);

        Assert.All(Enumerable.Range(0, 50), _ => Assert.True(Acquire(buckets, "").IsAcquired));
        Assert.Equal(0, buckets.Count);
    }

    [Fact]
    public void Buckets_full_and_unused_for_the_idle_limit_are_dropped_by_a_later_request_and_no_timer_is_made()
    {
        var buckets = new TokenBuckets(c => (c.Request.Headers["key"].ToString(), 2), _time);
        foreach (var key in new[] { "a", "b", "c" })
        {
            Acquire(buckets, key).Dispose();
        }

        Acquire(buckets, "busy").Dispose();
        Acquire(buckets, "busy").Dispose();
        Assert.Equal(4, buckets.Count);

        // Nothing happens without a request: no timer refills or drops anything.
        _time.Advance(TokenBuckets.IdleLimit * 3);
        Assert.Equal(4, buckets.Count);

        Acquire(buckets, "busy").Dispose();
        Assert.Equal(1, buckets.Count);
        Assert.Equal(0, _time.TimersCreated);
    }

    private static RateLimitLease Acquire(TokenBuckets buckets, string key)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["key"] = key;
        return buckets.AttemptAcquire(context);
    }

    /// <summary>A fake clock that counts the timers asked of it.</summary>
    private sealed class CountingClock : FakeTimeProvider
    {
        public int TimersCreated { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            TimersCreated++;
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
