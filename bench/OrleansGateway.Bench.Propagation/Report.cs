using System.Globalization;
using System.Text;

namespace OrleansGateway.Bench.Propagation;

/// <summary>The markdown table the benchmark prints: one row per configuration.</summary>
internal static class Report
{
    public static string Table(IEnumerable<(BenchConfiguration Configuration, IReadOnlyList<Sample> Samples)> runs)
    {
        var text = new StringBuilder();
        text.AppendLine("| silos | storage | edges learn by | applies | propagation p50 | p99 | max | served before the call returned | p99 new port / changed upstream | connection via every edge p99 | from call start p50 / p99 | apply call p50 / p99 |");
        text.AppendLine("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (configuration, samples) in runs)
        {
            var propagation = samples.Select(s => s.Propagation).ToList();
            text.AppendLine(CultureInfo.InvariantCulture, $"| {configuration.Silos} | {configuration.StorageName} | {configuration.Delivery} | {samples.Count} "
                + $"| {Ms(Percentile(propagation, 0.50))} | {Ms(Percentile(propagation, 0.99))} | {Ms(propagation.Max())} "
                + $"| {propagation.Count(p => p < 0)} "
                + $"| {Ms(Percentile([.. samples.Where(s => s.NewListener).Select(s => s.Propagation)], 0.99))} / {Ms(Percentile([.. samples.Where(s => !s.NewListener).Select(s => s.Propagation)], 0.99))} "
                + $"| {Ms(Percentile([.. samples.Select(s => s.Connection)], 0.99))} "
                + $"| {Ms(Percentile([.. samples.Select(s => s.FromCallStart)], 0.50))} / {Ms(Percentile([.. samples.Select(s => s.FromCallStart)], 0.99))} "
                + $"| {Ms(Percentile([.. samples.Select(s => s.ApplyCall)], 0.50))} / {Ms(Percentile([.. samples.Select(s => s.ApplyCall)], 0.99))} |");
        }

        return text.ToString();
    }

    /// <summary>Nearest rank: the smallest value with at least <paramref name="q"/> of the samples at or below it.</summary>
    public static double Percentile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(q * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static string Ms(double value) => value.ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}
