using System.Diagnostics;
using System.Globalization;

namespace OrleansGateway.Bench.Scale;

/// <summary>
/// The scale benchmark (issue 7 item 4): 10,000 SNI TCPMappings on one TLS port, 2,000 cleartext ports, and both,
/// through load, compile, the data plane's apply and live re-apply, and the tenant grain's apply on memory and
/// Azure Table storage. Only the markdown tables go to stdout; progress goes to stderr. See docs/scale.md.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"scale: {e.Message}\n{BenchOptions.Help}");
            return 2;
        }

        if (options.ShowHelp)
        {
            await Console.Out.WriteLineAsync(BenchOptions.Help);
            return 0;
        }

        try
        {
            await RunAsync(options);
            return 0;
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"scale: {e.Message}");
            return 1;
        }
    }

    private static async Task RunAsync(BenchOptions options)
    {
        using var certificates = new Certificates();
        var ports = FreePorts.Pick(options.Ports + 1, options.BasePort);
        await using var before = new GreetingUpstream("before", echo: true);
        await using var after = new GreetingUpstream("after", echo: true);
        var report = new Report(options);

        foreach (var kind in options.Workloads)
        {
            var workload = Workload.Create(kind, options.Sni, ports[0], ports[1..], before.Service, certificates);
            var samples = new List<DataPlaneSample>();
            for (var run = 0; run < options.Runs; run++)
            {
                Progress($"{kind}: data plane run {run + 1}/{options.Runs} ({workload.Mappings} mappings)");
                samples.Add(await DataPlaneRun.RunAsync(workload, options.Connections, before, after, CancellationToken.None));
            }

            report.AddDataPlane(workload, samples);
        }

        foreach (var storage in options.Storages)
        {
            var workload = Workload.Create(WorkloadKind.Sni, options.Sni, ports[0], [], before.Service, certificates);
            var samples = new List<ControlPlaneSample>();
            for (var run = 0; run < options.Runs; run++)
            {
                Progress($"grains on {storage}: run {run + 1}/{options.Runs} ({workload.Mappings} mappings)");
                samples.Add(await ControlPlaneRun.RunAsync(workload, storage, options.ConnectionString, CancellationToken.None));
            }

            report.AddControlPlane(workload, storage, samples);
        }

        await Console.Out.WriteAsync(report.ToMarkdown());
    }

    internal static void Progress(string text) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.UtcNow:HH:mm:ss}] {text}"));

    internal static double Ms(TimeSpan t) => t.TotalMilliseconds;

    internal static T Median<T>(IEnumerable<T> values)
    {
        var sorted = values.Order().ToList();
        Debug.Assert(sorted.Count > 0);
        return sorted[(sorted.Count - 1) / 2];
    }
}
