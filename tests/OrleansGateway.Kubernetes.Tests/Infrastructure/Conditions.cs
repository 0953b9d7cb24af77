using System.Text.Json.Nodes;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>The Accepted condition the gateway wrote on an object, as <c>kubectl get -o yaml</c> shows it.</summary>
public sealed record Accepted(string Status, string Reason, string Message, long ObservedGeneration)
{
    public static Accepted? Of(JsonObject? item)
    {
        if (item?["status"]?["conditions"] is not JsonArray conditions)
        {
            return null;
        }

        foreach (var condition in conditions.OfType<JsonObject>())
        {
            if (condition["type"]?.GetValue<string>() == "Accepted")
            {
                return new Accepted(
                    condition["status"]!.GetValue<string>(),
                    condition["reason"]!.GetValue<string>(),
                    condition["message"]?.GetValue<string>() ?? "",
                    condition["observedGeneration"]!.GetValue<long>());
            }
        }

        return null;
    }
}
