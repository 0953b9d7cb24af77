using System.Globalization;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>Reads values out of the Prometheus text of /metrics.</summary>
public static class Metrics
{
    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include every one of <paramref name="labels"/> (<c>key="value"</c>).</summary>
    public static double Sum(string text, string name, params string[] labels) => text.Split('\n')
        .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
        .Where(line => labels.All(label => line.Contains(label, StringComparison.Ordinal)))
        .Select(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))
        .Sum();
}
