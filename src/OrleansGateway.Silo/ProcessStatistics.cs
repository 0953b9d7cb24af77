using System.Runtime.CompilerServices;
using Orleans.Statistics;

namespace OrleansGateway.Silo;

/// <summary>
/// The silo's CPU and memory figures (<see cref="IEnvironmentStatisticsProvider"/>: load statistics for placement, the
/// dashboard, load shedding when enabled), computed when asked instead of sampled every second. Orleans' own provider
/// listens to the runtime's <c>System.Runtime</c> event counters at a one-second interval, which keeps a counter
/// thread waking, computing every runtime counter and dispatching them to the listener every second of an idle
/// gateway's life (docs/benchmarks.md, "Idle"). Here the CPU usage is the process's CPU time over the wall time since the
/// previous answer (the load publisher asks every 10 s, so it is a 10 s average, smoother than a one-second sample),
/// and the memory figures are read from the GC as Orleans reads them. Orleans smooths its one-second samples with a
/// Kalman filter; the averages here need none, so the filtered and raw figures are the same.
/// </summary>
internal sealed class ProcessStatistics(TimeProvider time) : IEnvironmentStatisticsProvider
{
    /// <summary>A CPU average over less than this is not computed again (asked twice in a row: the last one stands).</summary>
    internal static readonly TimeSpan ShortestWindow = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private long _sampledAt = time.GetTimestamp();
    private TimeSpan _cpuAt = Environment.CpuUsage.TotalTime;
    private float _cpuPercent;

    public EnvironmentStatistics GetEnvironmentStatistics()
    {
        var cpu = CpuPercent();
        var memory = GC.GetGCMemoryInfo();
        var maximum = memory.TotalAvailableMemoryBytes;
        var used = Math.Clamp(memory.TotalCommittedBytes - memory.FragmentedBytes, 0, maximum);
        return Create(cpu, cpu, used, used, maximum - used, maximum - used, maximum);
    }

    /// <summary>The process's CPU use since the previous sample, in percent of all the machine's processors (0–100).</summary>
    private float CpuPercent()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var elapsed = time.GetElapsedTime(_sampledAt, now);
            if (elapsed >= ShortestWindow)
            {
                var cpu = Environment.CpuUsage.TotalTime;
                _cpuPercent = (float)Math.Clamp((cpu - _cpuAt) / (elapsed * Environment.ProcessorCount) * 100, 0, 100);
                (_sampledAt, _cpuAt) = (now, cpu);
            }

            return _cpuPercent;
        }
    }

    // The struct's constructor is internal to Orleans; a changed signature throws MissingMethodException at the first
    // call, which ProcessStatisticsTests catches at build time rather than a silo at run time.
    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern EnvironmentStatistics Create(
        float cpuUsagePercentage,
        float rawCpuUsagePercentage,
        long memoryUsageBytes,
        long rawMemoryUsageBytes,
        long availableMemoryBytes,
        long rawAvailableMemoryBytes,
        long maximumAvailableMemoryBytes);
}
