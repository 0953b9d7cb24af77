using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansGateway.Silo;

/// <summary>Durations on the command line: <c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c> (a number and a unit).</summary>
internal static partial class Duration
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var match = Pattern().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        value = match.Groups["unit"].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromHours(n),
        };
        return true;
    }

    public static string Format(TimeSpan value) => value.TotalMilliseconds % 1000 != 0
        ? $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
        : $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";

    [GeneratedRegex(@"^(?<n>\d+(\.\d+)?)(?<unit>ms|s|m|h)$")]
    private static partial Regex Pattern();
}
