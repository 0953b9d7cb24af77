using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Durations as the gateway's command line and its extension annotations write them: <c>500ms</c>, <c>10s</c>, <c>2m</c>,
/// <c>1h</c> (a number and a unit). One rule for both, so a value means the same wherever it is written.
/// </summary>
public static partial class Duration
{
    /// <summary>Parses <paramref name="text"/> (surrounding white space allowed); false when it is not a number and a unit.</summary>
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

    /// <summary>The shortest spelling <see cref="TryParse"/> reads back: whole seconds as <c>s</c>, else <c>ms</c>.</summary>
    public static string Format(TimeSpan value) => value.TotalMilliseconds % 1000 != 0
        ? $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
        : $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";

    [GeneratedRegex(@"^(?<n>\d+(\.\d+)?)(?<unit>ms|s|m|h)$")]
    private static partial Regex Pattern();
}
