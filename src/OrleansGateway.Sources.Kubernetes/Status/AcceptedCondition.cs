using System.Text.Json;
using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Sources.Kubernetes.Status;

/// <summary>
/// The condition of type <c>Accepted</c> the gateway writes on a resource: <c>status</c> <c>"True"</c> (reason
/// <c>Accepted</c>) when it is served, <c>"False"</c> (reason <c>Discarded</c>) when it is not; the message is what
/// <c>ogw get</c> shows, its messages joined by <c>"; "</c>.
/// </summary>
internal sealed record AcceptedCondition(bool Accepted, string Message, long ObservedGeneration)
{
    public const string Type = "Accepted";

    /// <summary>Kubernetes caps a condition's message at 32768 characters.</summary>
    private const int MaxMessage = 32768;

    public string Status => Accepted ? "True" : "False";

    public string Reason => Accepted ? "Accepted" : "Discarded";

    /// <summary>The condition for a resource's status; null for an Ignored one (it belongs to another installation).</summary>
    public static AcceptedCondition? For(ResourceStatus status, long generation) => status.State switch
    {
        ResourceState.Accepted => new AcceptedCondition(true, Join(status.Messages), generation),
        ResourceState.Discarded => new AcceptedCondition(false, Join(status.Messages), generation),
        _ => null,
    };

    public static AcceptedCondition Discarded(string reason, long generation) => new(false, Join([reason]), generation);

    /// <summary>The Accepted condition in an object's <c>status.conditions</c>, as last written there; null when there is none.</summary>
    public static AcceptedCondition? Read(JsonElement item)
    {
        foreach (var condition in Conditions(item))
        {
            if (condition.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == Type)
            {
                var accepted = condition.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() == "True";
                var message = condition.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
                var generation = condition.TryGetProperty("observedGeneration", out var g) && g.TryGetInt64(out var value) ? value : -1;
                return new AcceptedCondition(accepted, message, generation);
            }
        }

        return null;
    }

    /// <summary>The other conditions of the object's status, kept as they are when this one is written.</summary>
    public static IEnumerable<JsonElement> Others(JsonElement item) =>
        Conditions(item).Where(c => !(c.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == Type));

    /// <summary>The same verdict and text (what an Event reports; the generation alone is no news).</summary>
    public bool SameVerdict(AcceptedCondition? other) => other is not null && other.Accepted == Accepted && other.Message == Message;

    private static IEnumerable<JsonElement> Conditions(JsonElement item) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object
            && status.TryGetProperty("conditions", out var conditions) && conditions.ValueKind == JsonValueKind.Array
            ? conditions.EnumerateArray()
            : [];

    private static string Join(IEnumerable<string> messages)
    {
        var text = string.Join("; ", messages);
        return text.Length <= MaxMessage ? text : text[..(MaxMessage - 1)] + "…";
    }
}
