using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace OrleansGateway.Bench.Sni;

/// <summary>
/// The SNI lookup micro-benchmark (docs/scale.md). A short job (3 warm-ups, 10 iterations, one launch) keeps the
/// whole run to a few minutes; the lookups take nanoseconds, so that is plenty for a flat-or-not answer. In process:
/// no generated project to build (that build alone can exceed BenchmarkDotNet's 2-minute limit on a busy machine).
/// Extra arguments go to BenchmarkDotNet (e.g. <c>--filter *Exact*</c>).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1).WithToolchain(InProcessEmitToolchain.Instance))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
    }
}
