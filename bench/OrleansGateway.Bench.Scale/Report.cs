using System.Globalization;
using System.Text;

namespace OrleansGateway.Bench.Scale;

/// <summary>Markdown tables of medians (and the worst run where a limit matters).</summary>
internal sealed class Report(BenchOptions options)
{
    private readonly List<string> _dataPlane = [];
    private readonly List<string> _controlPlane = [];

    public void AddDataPlane(Workload workload, IReadOnlyList<DataPlaneSample> samples)
    {
        var first = samples[0];
        _dataPlane.Add(Row(
            workload.Kind.ToString().ToLowerInvariant(),
            N(workload.Mappings),
            N(first.Listeners),
            N(first.SniRoutes),
            Ms(samples.Select(s => s.Load)),
            Ms(samples.Select(s => s.Compile)) + " (max " + F(samples.Max(s => s.Compile).TotalMilliseconds) + ")",
            Ms(samples.Select(s => s.CompileCpu)),
            Ms(samples.Select(s => s.Apply)),
            Ms(samples.Select(s => s.Recompile)),
            Ms(samples.Select(s => s.Reapply)),
            Ms(samples.Select(s => s.ApplyToServing)),
            $"{N(samples.Sum(s => s.Dropped))} of {N(samples.Sum(s => s.Connections))}"));
    }

    public void AddControlPlane(Workload workload, GrainStorage storage, IReadOnlyList<ControlPlaneSample> samples)
    {
        var s = samples[^1];
        _controlPlane.Add(Row(
            storage == GrainStorage.Azure ? "Azure Table (Azurite)" : "memory",
            N(workload.Mappings),
            Ms(samples.Select(x => x.Apply)),
            Ms(samples.Select(x => x.Reapply)),
            Ms(samples.Select(x => x.Reload)),
            Kb(s.RawStateBytes) + " → " + Kb(s.StoredStateBytes),
            Kb(s.ListenerRawBytes) + " → " + Kb(s.ListenerStoredBytes)));
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Median of {options.Runs} run(s); {options.Connections} connections open through each re-apply. Times in ms. " +
            $"Load average at the end: {LoadAverage()}.");
        if (_dataPlane.Count > 0)
        {
            text.AppendLine()
                .AppendLine("| workload | mappings | listeners | SNI routes | load | compile | compile CPU | apply | re-compile (1 changed) | re-apply | apply → changed route serves | connections dropped |")
                .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            _dataPlane.ForEach(r => text.AppendLine(r));
        }

        if (_controlPlane.Count > 0)
        {
            text.AppendLine()
                .AppendLine("| grain storage | mappings | tenant apply | re-apply (1 changed) | reload after deactivation | tenant state raw → stored | SNI listener state raw → stored |")
                .AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            _controlPlane.ForEach(r => text.AppendLine(r));
        }

        return text.ToString();
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string Row(params string[] cells) => "| " + string.Join(" | ", cells) + " |";

    private static string Ms(IEnumerable<TimeSpan> values) => F(Program.Median(values).TotalMilliseconds);

    private static string F(double value) => value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture);

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Kb(long bytes) => (bytes / 1024.0).ToString("N0", CultureInfo.InvariantCulture) + " KiB";
}
