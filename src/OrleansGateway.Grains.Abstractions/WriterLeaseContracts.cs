namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// One writer at a time for a job that several silos could do (key: the job, e.g. <c>kubernetes-source/default</c>):
/// a time-limited lease that its holder renews. Used where every silo could write to an outside system (Kubernetes
/// statuses, a Service's ports) and two writers would fight or repeat each other. Not persisted: after the grain moves,
/// the first holder to ask takes the lease again, so for at most one renewal period two silos may both believe they
/// hold it; the jobs that use it write idempotently (docs/kubernetes.md, "One writer at a time").
/// </summary>
[Alias("OrleansGateway.IWriterLeaseGrain")]
public interface IWriterLeaseGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes the lease for <paramref name="term"/> when it is free or expired, or renews it when
    /// <paramref name="holder"/> holds it already; false when another holder's term has not run out.
    /// </summary>
    [Alias("TryAcquire")]
    Task<bool> TryAcquireAsync(string holder, TimeSpan term);

    /// <summary>Frees the lease if <paramref name="holder"/> holds it (a silo that stops hands over at once).</summary>
    [Alias("Release")]
    Task ReleaseAsync(string holder);
}

/// <summary>References to <see cref="IWriterLeaseGrain"/> by job.</summary>
public static class WriterLeases
{
    public static IWriterLeaseGrain GetWriterLease(this IGrainFactory grains, string job)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(job);
        return grains.GetGrain<IWriterLeaseGrain>(job);
    }
}
