using System.Collections.Immutable;
using System.Text.Json;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary>Reads the API's JSON (docs/api.md shapes) into what the tables print; a missing field reads as empty, never throws.</summary>
internal static class Views
{
    /// <summary>A <c>ResourceView</c> as the row <c>ogw check</c> prints for a resource.</summary>
    public static ResourceReport Resource(JsonElement view) => new(
        String(view, "kind") ?? "?",
        String(view, "name") ?? "?",
        String(view, "namespace") ?? "default",
        String(view, "status") ?? "?",
        [.. Array(view, "messages").Select(m => m.GetString() ?? "")],
        null);

    public static ImmutableArray<ResourceReport> Resources(IEnumerable<JsonElement> views) => [.. views.Select(Resource)];

    public static string? String(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>A number or boolean as text, null as <paramref name="absent"/>.</summary>
    public static string Value(JsonElement json, string name, string absent = "-") =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => absent,
            }
            : absent;

    public static IEnumerable<JsonElement> Array(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray()
            : [];

    public static JsonElement Object(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) ? value : default;

    /// <summary>Columns padded to their widest cell (the last one not padded), two spaces apart.</summary>
    public static void Table(TextWriter output, string[] headers, IReadOnlyList<string[]> rows)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        foreach (var row in rows.Prepend(headers))
        {
            output.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>A quota on one line: a null list is <c>any</c>, an empty one <c>none</c>; a null number <c>unlimited</c>.</summary>
    public static string Quota(JsonElement quota)
    {
        var parts = new List<string>
        {
            $"ports {List("allowedPorts")}",
            $"listeners {Value(quota, "maxListeners", "unlimited")}",
            $"mappings {Value(quota, "maxMappings", "unlimited")}",
            $"connections {Value(quota, "maxConcurrentConnections", "unlimited")}",
            $"upstreams {List("allowedUpstreams")}",
            $"hosts {List("allowedHosts")}",
        };

        // Bounded input (docs/api.md "Limits"), shown by the gateways that have it.
        foreach (var (field, label) in new[]
        {
            ("maxResourcesPerApply", "per apply"), ("maxListenerResources", "Listeners"), ("maxHosts", "Hosts"), ("maxTlsContexts", "TLSContexts"),
            ("maxSecrets", "Secrets"), ("maxModules", "Modules"), ("maxStateBytes", "state bytes"),
        })
        {
            if (quota.ValueKind == JsonValueKind.Object && quota.TryGetProperty(field, out _))
            {
                parts.Add($"{label} {Value(quota, field, "unlimited")}");
            }
        }

        return string.Join(", ", parts);

        string List(string field)
        {
            if (Object(quota, field).ValueKind != JsonValueKind.Array)
            {
                return "any";
            }

            var items = Array(quota, field).Select(p => p.ValueKind == JsonValueKind.String ? p.GetString()! : p.GetRawText()).ToList();
            return items.Count == 0 ? "none" : string.Join(",", items);
        }
    }

    /// <summary>The path segment of a tenant or resource name, escaped.</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);
}
