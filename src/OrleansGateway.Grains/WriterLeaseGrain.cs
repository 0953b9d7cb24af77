using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains;

/// <summary>See <see cref="IWriterLeaseGrain"/>. In memory only: a lease is worth no more than its term.</summary>
public sealed class WriterLeaseGrain(TimeProvider time) : Grain, IWriterLeaseGrain
{
    private readonly WriterLease _lease = new(time);

    public Task<bool> TryAcquireAsync(string holder, TimeSpan term) => Task.FromResult(_lease.TryAcquire(holder, term));

    public Task ReleaseAsync(string holder)
    {
        _lease.Release(holder);
        return Task.CompletedTask;
    }
}

/// <summary>The lease's rules on an injected clock.</summary>
internal sealed class WriterLease(TimeProvider time)
{
    private string? _holder;
    private DateTimeOffset _expires;

    /// <summary>The holder whose term has not run out, or null.</summary>
    private string? Holder => _holder is not null && time.GetUtcNow() < _expires ? _holder : null;

    public bool TryAcquire(string holder, TimeSpan term)
    {
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(term, TimeSpan.Zero);
        var current = Holder;
        if (current is not null && !string.Equals(current, holder, StringComparison.Ordinal))
        {
            return false;
        }

        _holder = holder;
        _expires = time.GetUtcNow() + term;
        return true;
    }

    public void Release(string holder)
    {
        if (string.Equals(_holder, holder, StringComparison.Ordinal))
        {
            _holder = null;
        }
    }
}
