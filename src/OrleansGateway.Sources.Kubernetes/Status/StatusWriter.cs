using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using OrleansGateway.Sources.Kubernetes.Source;
using OrleansGateway.Sources.Kubernetes.Watching;

namespace OrleansGateway.Sources.Kubernetes.Status;

/// <summary>
/// Writes each resource's <see cref="AcceptedCondition"/> back where <c>kubectl</c> shows it (docs/kubernetes.md,
/// "Status"): a merge patch of the status subresource (API servers refuse strategic merge on custom resources), only when
/// the condition or the generation differs from what the object carries and from what was last written. Where a kind
/// has no status subresource (Emissary's own CRDs: the PATCH is a 404) or its schema drops <c>conditions</c> (the
/// patch succeeds but the condition is not there), a Kubernetes Event on the object reports each change of the
/// condition instead, so that <c>kubectl describe</c> shows it. Used by the source's loop only: not thread-safe.
/// </summary>
internal sealed partial class StatusWriter(IKubernetes client, KubernetesHealth health, TimeProvider time, string holder, ILogger logger)
{
    /// <summary>Kubernetes caps an Event's message at 1024 characters.</summary>
    private const int MaxEventMessage = 1024;

    private readonly HashSet<string> _eventsOnly = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AcceptedCondition> _written = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AcceptedCondition> _announced = new(StringComparer.Ordinal);

    /// <param name="latest">The object as the watch saw it last (for its current status); null when it is gone.</param>
    public async Task WriteAsync(KubeResource resource, AcceptedCondition desired, KubeObject? latest, CancellationToken cancellationToken)
    {
        var item = latest ?? resource.Object;
        var key = Key(resource.Kind, item);
        if (_eventsOnly.Contains(resource.Kind.Resource))
        {
            await AnnounceAsync(resource.Kind, item, desired, cancellationToken);
            return;
        }

        if (desired == _written.GetValueOrDefault(key) || desired == AcceptedCondition.Read(item.Json))
        {
            _written[key] = desired;
            return;
        }

        try
        {
            var answer = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                new V1Patch(PatchBody(item, desired), V1Patch.PatchType.MergePatch),
                WatchedKind.AmbassadorGroup,
                WatchedKind.AmbassadorVersion,
                item.Namespace,
                resource.Kind.Resource,
                item.Name,
                cancellationToken: cancellationToken);
            _written[key] = desired;
            if (desired == AcceptedCondition.Read(ToJson(answer)))
            {
                health.StatusWritten("status");
                return;
            }

            // Accepted, but the kind's schema has no status.conditions (Emissary's Host): the API server pruned it.
            LogNoConditions(logger, resource.Kind.Resource);
            _eventsOnly.Add(resource.Kind.Resource);
            await AnnounceAsync(resource.Kind, item, desired, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound && latest is not null)
        {
            // The object exists (the watch still has it), so the kind has no status subresource.
            LogNoStatusSubresource(logger, resource.Kind.Resource);
            _eventsOnly.Add(resource.Kind.Resource);
            await AnnounceAsync(resource.Kind, item, desired, cancellationToken);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException)
        {
            // Written on the next pass: the condition still differs from the object's.
            health.StatusWritten("failed");
            LogPatchFailed(logger, resource.Kind.Kind, item.Namespace, item.Name, e.Message);
        }
    }

    /// <summary>Forgets what was written for an object that was deleted (a new object of its name has another uid, so another key).</summary>
    public void Forget(WatchedKind kind, KubeObject gone)
    {
        var key = Key(kind, gone);
        _written.Remove(key);
        _announced.Remove(key);
    }

    private async Task AnnounceAsync(WatchedKind kind, KubeObject item, AcceptedCondition desired, CancellationToken cancellationToken)
    {
        var key = Key(kind, item);
        if (desired.SameVerdict(_announced.GetValueOrDefault(key)))
        {
            return;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var message = desired.Message.Length == 0 ? (desired.Accepted ? "served" : "not served") : desired.Message;
        var @event = new Corev1Event
        {
            Metadata = new V1ObjectMeta { GenerateName = item.Name + ".", NamespaceProperty = item.Namespace },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = kind.ApiVersion,
                Kind = kind.Kind,
                Name = item.Name,
                NamespaceProperty = item.Namespace,
                Uid = item.Uid,
                ResourceVersion = item.ResourceVersion,
            },
            Reason = desired.Reason,
            Message = message.Length <= MaxEventMessage ? message : message[..(MaxEventMessage - 1)] + "…",
            Type = desired.Accepted ? "Normal" : "Warning",
            Source = new V1EventSource { Component = "orleans-gateway" },
            ReportingComponent = "orleansgateway.io/gateway",
            ReportingInstance = holder.Length <= 128 ? holder : holder[..128],
            Action = "Apply",
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        try
        {
            await client.CoreV1.CreateNamespacedEventAsync(@event, item.Namespace, cancellationToken: cancellationToken);
            _announced[key] = desired;
            health.StatusWritten("event");
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException)
        {
            health.StatusWritten("failed");
            LogEventFailed(logger, kind.Kind, item.Namespace, item.Name, e.Message);
        }
    }

    /// <summary>
    /// <c>{"status":{"conditions":[...]}}</c>: a merge patch replaces the whole list, so the object's other
    /// conditions are written back as they are, and the Accepted one keeps its transition time while its status stays.
    /// </summary>
    private string PatchBody(KubeObject item, AcceptedCondition desired)
    {
        var before = AcceptedCondition.Read(item.Json);
        var transition = before is not null && before.Accepted == desired.Accepted && LastTransition(item.Json) is { } kept
            ? kept
            : time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var conditions = new JsonArray();
        foreach (var other in AcceptedCondition.Others(item.Json))
        {
            conditions.Add(JsonNode.Parse(other.GetRawText()));
        }

        conditions.Add(new JsonObject
        {
            ["type"] = AcceptedCondition.Type,
            ["status"] = desired.Status,
            ["reason"] = desired.Reason,
            ["message"] = desired.Message,
            ["observedGeneration"] = desired.ObservedGeneration,
            ["lastTransitionTime"] = transition,
        });
        return new JsonObject { ["status"] = new JsonObject { ["conditions"] = conditions } }.ToJsonString();
    }

    private static string? LastTransition(JsonElement item)
    {
        foreach (var condition in item.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Object
                     && s.TryGetProperty("conditions", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray() : default)
        {
            if (condition.TryGetProperty("type", out var t) && t.GetString() == AcceptedCondition.Type
                && condition.TryGetProperty("lastTransitionTime", out var time) && time.ValueKind == JsonValueKind.String)
            {
                return time.GetString();
            }
        }

        return null;
    }

    private static JsonElement ToJson(object answer) => answer is JsonElement json
        ? json
        : JsonDocument.Parse(KubernetesJson.Serialize(answer)).RootElement.Clone();

    private static string Key(WatchedKind kind, KubeObject item) => $"{kind.Resource}/{item.Namespace}/{item.Name}/{item.Uid}";

    [LoggerMessage(1, LogLevel.Information, "Kubernetes: {Resource} have no status subresource here (Emissary's own CRDs); their conditions are reported as Events")]
    private static partial void LogNoStatusSubresource(ILogger logger, string resource);

    [LoggerMessage(2, LogLevel.Information, "Kubernetes: the status of {Resource} has no conditions field here (Emissary's own CRDs); their conditions are reported as Events")]
    private static partial void LogNoConditions(ILogger logger, string resource);

    [LoggerMessage(3, LogLevel.Warning, "Kubernetes: the status of {Kind} {Namespace}/{Name} could not be written ({Problem}); retrying")]
    private static partial void LogPatchFailed(ILogger logger, string kind, string @namespace, string name, string problem);

    [LoggerMessage(4, LogLevel.Warning, "Kubernetes: an Event for {Kind} {Namespace}/{Name} could not be recorded ({Problem}); retrying")]
    private static partial void LogEventFailed(ILogger logger, string kind, string @namespace, string name, string problem);
}
