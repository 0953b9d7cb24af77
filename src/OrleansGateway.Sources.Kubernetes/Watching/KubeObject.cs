using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansGateway.Sources.Kubernetes.Watching;

/// <summary>
/// One object as the API server last sent it (<see cref="Json"/>, status included), with what the gateway keys and
/// compares it by. <see cref="Fingerprint"/> covers what a change of the object's meaning can touch — everything but
/// its status and the metadata the server maintains (resourceVersion, managedFields, timestamps) — so that a status the
/// gateway writes, or a resourceVersion bump, is not mistaken for a change to apply.
/// </summary>
/// <param name="Namespace">Empty for a cluster-scoped object (a Namespace).</param>
public sealed record KubeObject(
    string Namespace,
    string Name,
    string Uid,
    long Generation,
    string ResourceVersion,
    ImmutableDictionary<string, string> Labels,
    JsonElement Json,
    string Fingerprint)
{
    /// <summary>The metadata fields that belong to the object's meaning; the server maintains the others.</summary>
    private static readonly string[] MeaningfulMetadata = ["name", "namespace", "labels", "annotations"];

    public static KubeObject From(JsonElement json)
    {
        var metadata = json.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        var labels = ImmutableDictionary<string, string>.Empty;
        if (metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Object)
        {
            labels = l.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String)
                .ToImmutableDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        }

        return new KubeObject(
            Text(metadata, "namespace"),
            Text(metadata, "name"),
            Text(metadata, "uid"),
            metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("generation", out var g) && g.TryGetInt64(out var generation) ? generation : 0,
            Text(metadata, "resourceVersion"),
            labels,
            json,
            FingerprintOf(json));
    }

    /// <summary>The <c>metadata.resourceVersion</c> of an object or of a BOOKMARK; null when it has none.</summary>
    public static string? ResourceVersionOf(JsonElement json) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object
            && m.TryGetProperty("resourceVersion", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static string FingerprintOf(JsonElement json)
    {
        if (JsonNode.Parse(json.GetRawText()) is not JsonObject copy)
        {
            return json.GetRawText();
        }

        copy.Remove("status");
        if (copy["metadata"] is JsonObject metadata)
        {
            foreach (var key in metadata.Select(p => p.Key).Where(k => !MeaningfulMetadata.Contains(k)).ToList())
            {
                metadata.Remove(key);
            }
        }

        return copy.ToJsonString();
    }

    private static string Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "";
}
