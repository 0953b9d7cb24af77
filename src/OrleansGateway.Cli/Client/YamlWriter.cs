using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrleansGateway.Cli.Client;

/// <summary>
/// JSON as block YAML for <c>-o yaml</c>. Written here rather than with YamlDotNet because the CLI may reference
/// only the model, the data plane and System.CommandLine (ArchitectureTests), and JSON maps onto a small YAML subset:
/// strings that could read as anything else are double-quoted with JSON escapes, which YAML reads the same way.
/// </summary>
internal static partial class YamlWriter
{
    public static void Write(JsonElement json, TextWriter output)
    {
        if (IsScalarOrEmpty(json))
        {
            output.WriteLine(Scalar(json));
            return;
        }

        WriteBlock(json, output, 0);
    }

    private static void WriteBlock(JsonElement json, TextWriter output, int indent)
    {
        var pad = new string(' ', indent);
        if (json.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in json.EnumerateObject())
            {
                WriteEntry($"{pad}{Key(property.Name)}:", property.Value, output, indent + 2, nestedArrayIndent: indent);
            }

            return;
        }

        foreach (var item in json.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && item.EnumerateObject().Any())
            {
                // "- first: 1" then the other keys aligned under "first".
                var first = true;
                foreach (var property in item.EnumerateObject())
                {
                    var lead = first ? $"{pad}- " : $"{pad}  ";
                    WriteEntry($"{lead}{Key(property.Name)}:", property.Value, output, indent + 4, nestedArrayIndent: indent + 2);
                    first = false;
                }
            }
            else
            {
                WriteEntry($"{pad}-", item, output, indent + 2, nestedArrayIndent: indent + 2);
            }
        }
    }

    /// <param name="nestedIndent">Indent of a nested map's keys.</param>
    /// <param name="nestedArrayIndent">Indent of a nested list's dashes (a list under a key may sit at the key's column).</param>
    private static void WriteEntry(string head, JsonElement value, TextWriter output, int nestedIndent, int nestedArrayIndent)
    {
        if (IsScalarOrEmpty(value))
        {
            output.WriteLine($"{head} {Scalar(value)}");
            return;
        }

        output.WriteLine(head);
        WriteBlock(value, output, value.ValueKind == JsonValueKind.Array ? nestedArrayIndent + 2 : nestedIndent);
    }

    private static bool IsScalarOrEmpty(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Object => !json.EnumerateObject().Any(),
        JsonValueKind.Array => json.GetArrayLength() == 0,
        _ => true,
    };

    private static string Scalar(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Object => "{}",
        JsonValueKind.Array => "[]",
        JsonValueKind.String => Text(json.GetString()!),
        JsonValueKind.Number => json.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };

    private static string Key(string name) => Text(name);

    private static string Text(string value) =>
        Plain().IsMatch(value) && !Reserved.Contains(value) && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? value
            : JsonSerializer.Serialize(value);

    // YAML 1.1 readers take these as booleans or null when plain.
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "true", "false", "yes", "no", "y", "n", "on", "off", "null", "~",
    };

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_./-]*$")]
    private static partial Regex Plain();
}
