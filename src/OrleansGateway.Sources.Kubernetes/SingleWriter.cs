using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Sources.Kubernetes;

/// <summary>
/// Runs a job only while this process holds the job's writer lease (<see cref="IWriterLeaseGrain"/>): one writer at a
/// time among the silos that could do it. The lease is renewed every <see cref="RenewEvery"/>; when it is lost (another
/// holder took it after an expiry) or cannot be renewed within its term (the cluster is unreachable), the job is
/// cancelled, and the process asks again. A process that stops releases the lease, so another takes over at once.
/// </summary>
public sealed partial class SingleWriter(IGrainFactory grains, string holder, TimeProvider time, ILogger<SingleWriter> logger)
{
    public static readonly TimeSpan Term = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(5);

    /// <summary>Who this process is to the lease.</summary>
    public string Holder => holder;

    public async Task RunAsync(string job, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var lease = grains.GetWriterLease(job);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (await TryAcquireAsync(lease, job) != true)
                {
                    await Task.Delay(RenewEvery, time, cancellationToken);
                    continue;
                }

                LogAcquired(logger, job, holder);
                await HoldAsync(lease, job, work, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            try
            {
                await lease.ReleaseAsync(holder).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The lease runs out by itself within its term.
                LogReleaseFailed(logger, job, e.Message);
            }
        }
    }

    private async Task HoldAsync(IWriterLeaseGrain lease, string job, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var validUntil = time.GetUtcNow() + Term;
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = RunWorkAsync(job, work, session.Token);
        try
        {
            while (!running.IsCompleted)
            {
                await Task.WhenAny(running, Task.Delay(RenewEvery, time, cancellationToken));
                if (running.IsCompleted)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                var renewed = await TryAcquireAsync(lease, job);
                if (renewed == true)
                {
                    validUntil = time.GetUtcNow() + Term;
                }
                else if (renewed == false || time.GetUtcNow() >= validUntil - RenewEvery)
                {
                    // Taken by another holder, or not renewed in time: stop before the term runs out, so that the next
                    // writer never overlaps with this one for longer than a renewal.
                    LogLost(logger, job, holder);
                    break;
                }
            }
        }
        finally
        {
            await session.CancelAsync();
            await running;
        }

        if (!cancellationToken.IsCancellationRequested)
        {
            // A job that stopped by itself (it failed) is not restarted in a busy loop.
            await Task.Delay(RenewEvery, time, cancellationToken);
        }
    }

    private async Task RunWorkAsync(string job, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        try
        {
            await work(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The lease was lost or the process stops.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogJobFailed(logger, job, e);
        }
    }

    /// <summary>True when held (acquired or renewed), false when another holder has it, null when the cluster did not answer.</summary>
    private async Task<bool?> TryAcquireAsync(IWriterLeaseGrain lease, string job)
    {
        try
        {
            return await lease.TryAcquireAsync(holder, Term);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The cluster is unreachable: whoever holds the lease keeps it until its term runs out.
            LogAskFailed(logger, job, e.Message);
            return null;
        }
    }

    [LoggerMessage(1, LogLevel.Information, "{Job}: this process ({Holder}) is the writer now")]
    private static partial void LogAcquired(ILogger logger, string job, string holder);

    [LoggerMessage(2, LogLevel.Warning, "{Job}: this process ({Holder}) is no longer the writer; another one took over or the cluster cannot be reached")]
    private static partial void LogLost(ILogger logger, string job, string holder);

    [LoggerMessage(3, LogLevel.Error, "{Job} failed; it starts again while this process is the writer")]
    private static partial void LogJobFailed(ILogger logger, string job, Exception exception);

    [LoggerMessage(4, LogLevel.Debug, "{Job}: asking for the writer lease failed ({Problem})")]
    private static partial void LogAskFailed(ILogger logger, string job, string problem);

    [LoggerMessage(5, LogLevel.Debug, "{Job}: releasing the writer lease failed ({Problem}); it runs out by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string job, string problem);
}
