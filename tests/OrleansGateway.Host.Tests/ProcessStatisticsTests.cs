using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;
using Orleans.Statistics;
using OrleansGateway.Silo;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The silo's CPU and memory figures computed when asked (quiet when idle: no event-counter listener sampling every
/// second), in place of Orleans' provider.
/// </summary>
public sealed class ProcessStatisticsTests
{
    [Fact]
    public void The_CPU_figure_is_the_process_CPU_time_over_the_wall_time_since_the_previous_answer()
    {
        var time = new FakeTimeProvider();
        var statistics = new ProcessStatistics(time);

        // 200 ms of this thread's CPU in one fake second: at least 20 % of one processor, whatever else the process does.
        var start = Environment.CpuUsage.TotalTime;
        while (Environment.CpuUsage.TotalTime - start < TimeSpan.FromMilliseconds(200))
        {
            Thread.SpinWait(1000);
        }

        time.Advance(TimeSpan.FromSeconds(1));
        var busy = statistics.GetEnvironmentStatistics();
        Assert.InRange(busy.RawCpuUsagePercentage, 20f / Environment.ProcessorCount, 100f);
        Assert.Equal(busy.RawCpuUsagePercentage, busy.FilteredCpuUsagePercentage);

        // Asked again within the shortest window: the same figure, not an average over a few microseconds.
        time.Advance(ProcessStatistics.ShortestWindow / 2);
        Assert.Equal(busy.RawCpuUsagePercentage, statistics.GetEnvironmentStatistics().RawCpuUsagePercentage);

        // A long quiet window: the few milliseconds the process used since are a tiny share of it.
        time.Advance(TimeSpan.FromHours(1));
        Assert.InRange(statistics.GetEnvironmentStatistics().RawCpuUsagePercentage, 0f, 1f);
    }

    [Fact]
    public void The_memory_figures_are_the_GC_s_committed_and_available_memory()
    {
        var statistics = new ProcessStatistics(TimeProvider.System).GetEnvironmentStatistics();

        Assert.True(statistics.MaximumAvailableMemoryBytes > 0);
        Assert.InRange(statistics.RawMemoryUsageBytes, 1, statistics.MaximumAvailableMemoryBytes);
        Assert.Equal(statistics.MaximumAvailableMemoryBytes - statistics.RawMemoryUsageBytes, statistics.RawAvailableMemoryBytes);
        Assert.Equal(statistics.RawMemoryUsageBytes, statistics.FilteredMemoryUsageBytes);
    }

    [Fact]
    public async Task The_silo_uses_it_instead_of_Orleans_event_counter_listener_and_membership_keeps_the_system_clock()
    {
        using var dir = new TempConfigDir();
        List<IEnvironmentStatisticsProvider> registered = [];
        TimeProvider? membershipClock = null;
        await using (await RunningGateway.StartAsync(dir.Path, b => b.Services.AddSingleton<IHostedService>(services =>
        {
            registered = [.. services.GetServices<IEnvironmentStatisticsProvider>()];
            membershipClock = services.GetRequiredKeyedService<TimeProvider>(TimeProviderNames.Membership);
            return new NoWork();
        })))
        {
            // Replaced, not added beside it: Orleans' provider would start its listener if anything resolved every one.
            Assert.IsType<ProcessStatistics>(Assert.Single(registered));

            // Orleans' stall detector expects its 100 ms cadence from this clock; a clock that stretches timers makes a
            // healthy silo count most of every second as stall (docs/benchmarks.md, "Idle").
            Assert.Same(TimeProvider.System, membershipClock);
        }
    }

    private sealed class NoWork : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
