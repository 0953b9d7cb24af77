using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api;

/// <summary>Resources, tenants and quotas as the API shows them.</summary>
internal static class ResourceViews
{
    /// <summary>What a Secret's private key reads as in every answer: its presence, never its content.</summary>
    public const string HiddenKey = "(present; never shown)";

    private static readonly JsonSerializerOptions ResourceJson = new(JsonSerializerDefaults.Web);

    public static ResourceViewDto View(TenantResource stored, bool withResource) => new(
        stored.Status.Resource.Kind,
        stored.Status.Resource.Namespace,
        stored.Status.Resource.Name,
        stored.Source,
        stored.Status.State.ToString(),
        stored.Status.Messages,
        withResource ? Json(stored.Resource) : null);

    public static ResourceViewDto View(ResourceStatus status, string source) => new(
        status.Resource.Kind, status.Resource.Namespace, status.Resource.Name, source, status.State.ToString(), status.Messages);

    /// <summary>
    /// The resource as JSON (the Model's own shape, <c>$resource</c> naming its kind); a Secret without its key: its
    /// presence only (also where Key Vault keeps it), null when it has none or it was not stored (its status says why).
    /// </summary>
    public static JsonNode? Json(Resource resource)
    {
        if (resource is SecretResource { TlsKey: not null } secret)
        {
            resource = secret with { TlsKey = SecretKeyMarker.ReadNotStored(secret.TlsKey) is null ? HiddenKey : null };
        }

        return JsonSerializer.SerializeToNode(resource, ResourceJson);
    }

    public static OutcomeDto Outcome(ApplyOutcome outcome, bool dryRun, Func<ResourceRef, string> sourceOf) => new(
        outcome.Accepted,
        dryRun,
        outcome.Version,
        [.. outcome.Statuses.Select(s => View(s, sourceOf(s.Resource)))],
        ApiProblems.Reports(outcome.Diagnostics));

    public static QuotaDto Quota(TenantQuota quota) => new(
        quota.AllowedPorts is { } ports ? [.. ports.Select(p => p.ToString())] : null,
        quota.MaxListeners,
        quota.MaxMappings,
        quota.MaxConcurrentConnections,
        quota.AllowedUpstreams,
        quota.AllowedHosts)
    {
        MaxResourcesPerApply = quota.MaxResourcesPerApply,
        MaxListenerResources = quota.MaxListenerResources,
        MaxHosts = quota.MaxHosts,
        MaxTlsContexts = quota.MaxTlsContexts,
        MaxSecrets = quota.MaxSecrets,
        MaxModules = quota.MaxModules,
        MaxStateBytes = quota.MaxStateBytes,
    };

    /// <summary>
    /// The quota of a request, or a message naming the field that is wrong and what it takes. No quota at all is
    /// <see cref="TenantQuota.DenyAll"/>; a list that is absent grants nothing, a list that is null is unlimited; a number
    /// that is absent or null is no limit (docs/api.md, "Tenants").
    /// </summary>
    public static TenantQuota? ParseQuota(QuotaRequest? request, out string? problem)
    {
        problem = null;
        if (request is null)
        {
            return TenantQuota.DenyAll.WithInputDefaults();
        }

        foreach (var (name, value) in new[] { ("maxListeners", request.MaxListeners), ("maxMappings", request.MaxMappings), ("maxConcurrentConnections", request.MaxConcurrentConnections) })
        {
            if (value < 0)
            {
                problem = $"quota.{name} is {value}; give a number >= 0, or null for no limit";
                return null;
            }
        }

        ImmutableArray<PortRange>? ranges;
        if (!request.IsPresent(nameof(QuotaRequest.AllowedPorts)))
        {
            ranges = [];
        }
        else if (request.AllowedPorts is not { } items)
        {
            ranges = null;
        }
        else
        {
            var list = new List<PortRange>();
            for (var i = 0; i < items.Length; i++)
            {
                var text = items[i].ValueKind switch
                {
                    JsonValueKind.Number or JsonValueKind.String => items[i].ToString(),
                    _ => null,
                };
                if (text is null || !TryParseRange(text, out var range))
                {
                    problem = $"quota.allowedPorts[{i}] is {items[i].GetRawText()}; give a port (1-65535) or a range \"first-last\", e.g. \"7000-7099\"";
                    return null;
                }

                list.Add(range);
            }

            ranges = [.. list];
        }

        var quota = new TenantQuota(ranges, request.MaxListeners, request.MaxMappings, request.MaxConcurrentConnections,
            List(request, nameof(QuotaRequest.AllowedUpstreams), request.AllowedUpstreams),
            List(request, nameof(QuotaRequest.AllowedHosts), request.AllowedHosts));
        if (!quota.TryCanonicalize(out var canonical, out var error))
        {
            problem = $"quota.{error}";
            return null;
        }

        return InputLimitsOf(request, canonical, out problem);
    }

    /// <summary>
    /// The bounded-input limits of a request on top of <paramref name="quota"/>: a field left out gets its default
    /// (<see cref="InputLimits"/>), JSON null is unlimited, a number must be >= 0.
    /// </summary>
    private static TenantQuota? InputLimitsOf(QuotaRequest request, TenantQuota quota, out string? problem)
    {
        problem = null;
        var fields = new (string Name, JsonElement Value, int Default)[]
        {
            ("maxResourcesPerApply", request.MaxResourcesPerApply, InputLimits.ResourcesPerApply),
            ("maxListenerResources", request.MaxListenerResources, InputLimits.ListenerResources),
            ("maxHosts", request.MaxHosts, InputLimits.Hosts),
            ("maxTlsContexts", request.MaxTlsContexts, InputLimits.TlsContexts),
            ("maxSecrets", request.MaxSecrets, InputLimits.Secrets),
            ("maxModules", request.MaxModules, InputLimits.Modules),
            ("maxStateBytes", request.MaxStateBytes, InputLimits.StateBytes),
        };
        var values = new int?[fields.Length];
        for (var i = 0; i < fields.Length; i++)
        {
            switch (fields[i].Value)
            {
                case { ValueKind: JsonValueKind.Undefined }:
                    values[i] = fields[i].Default;
                    break;
                case { ValueKind: JsonValueKind.Null }:
                    break;
                case { ValueKind: JsonValueKind.Number } number when number.TryGetInt32(out var n) && n >= 0:
                    values[i] = n;
                    break;
                case var other:
                    problem = $"quota.{fields[i].Name} is {other.GetRawText()}; give a whole number >= 0, or null for unlimited (absent: the default)";
                    return null;
            }
        }

        return quota with
        {
            MaxResourcesPerApply = values[0],
            MaxListenerResources = values[1],
            MaxHosts = values[2],
            MaxTlsContexts = values[3],
            MaxSecrets = values[4],
            MaxModules = values[5],
            MaxStateBytes = values[6],
        };
    }

    /// <summary>A list member: absent grants nothing (<c>[]</c>), null is unlimited.</summary>
    private static ImmutableArray<string>? List(QuotaRequest request, string property, ImmutableArray<string>? value) =>
        request.IsPresent(property) ? value : [];

    private static bool TryParseRange(string text, out PortRange range)
    {
        range = new PortRange(0, 0);
        var parts = text.Split('-', 2, StringSplitOptions.TrimEntries);
        if (!int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var first))
        {
            return false;
        }

        var last = first;
        if (parts.Length == 2 && !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out last))
        {
            return false;
        }

        range = new PortRange(first, last);
        return first is >= 1 and <= 65535 && last is >= 1 and <= 65535 && first <= last;
    }
}
