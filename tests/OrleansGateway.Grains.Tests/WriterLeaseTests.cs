using Microsoft.Extensions.Time.Testing;

namespace OrleansGateway.Grains.Tests;

/// <summary>The writer lease's rules (docs/kubernetes.md, "One writer at a time") on a fake clock.</summary>
public sealed class WriterLeaseTests
{
    private static readonly TimeSpan Term = TimeSpan.FromSeconds(15);

    [Fact]
    public void One_holder_at_a_time_until_its_term_runs_out_or_it_releases()
    {
        var time = new FakeTimeProvider();
        var lease = new WriterLease(time);

        Assert.True(lease.TryAcquire("a", Term));
        Assert.False(lease.TryAcquire("b", Term));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(lease.TryAcquire("a", Term), "the holder renews");
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(lease.TryAcquire("b", Term), "renewed: 10 s into a new term of 15");

        time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(lease.TryAcquire("b", Term), "a's term ran out");
        Assert.False(lease.TryAcquire("a", Term), "the old holder does not take it back");

        lease.Release("a");
        Assert.False(lease.TryAcquire("c", Term), "only the holder releases");
        lease.Release("b");
        Assert.True(lease.TryAcquire("c", Term), "released: the next one takes it at once");
    }

    [Fact]
    public void An_empty_holder_or_term_is_refused()
    {
        var lease = new WriterLease(new FakeTimeProvider());

        Assert.Throws<ArgumentException>(() => lease.TryAcquire("", Term));
        Assert.Throws<ArgumentOutOfRangeException>(() => lease.TryAcquire("a", TimeSpan.Zero));
    }
}
