using System.Collections.Immutable;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrleansGateway.Reporting;

namespace OrleansGateway.Api;

// The JSON shapes of docs/api.md. The `ogw` client and scripts rely on the field names: append, never rename.

/// <summary>A tenant's quota: a null list is unlimited, an empty one grants nothing; a null number is no limit.</summary>
internal sealed record QuotaDto(
    ImmutableArray<string>? AllowedPorts, int? MaxListeners, int? MaxMappings, int? MaxConcurrentConnections,
    ImmutableArray<string>? AllowedUpstreams, ImmutableArray<string>? AllowedHosts)
{
    // Bounded input (docs/api.md "Limits"); null is unlimited.
    public int? MaxResourcesPerApply { get; init; }
    public int? MaxListenerResources { get; init; }
    public int? MaxHosts { get; init; }
    public int? MaxTlsContexts { get; init; }
    public int? MaxSecrets { get; init; }
    public int? MaxModules { get; init; }
    public int? MaxStateBytes { get; init; }
}

internal sealed record TenantDto(string Name, QuotaDto Quota, long Version, int Resources, int Keys, DateTimeOffset CreatedAt);

internal sealed record KeyDto(string Id, string? Description, DateTimeOffset CreatedAt);

/// <summary>A key just issued: the only answer that carries the token.</summary>
internal sealed record IssuedKeyDto(string Id, string? Description, DateTimeOffset CreatedAt, string Token)
{
    public override string ToString() => $"IssuedKeyDto {{ Id = {Id}, Token = (hidden) }}";
}

internal sealed record WhoAmIDto(
    string Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Tenant,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? KeyId);

/// <param name="Resource">The resource as stored (only in the answer for one resource); a Secret's key is never shown.</param>
internal sealed record ResourceViewDto(
    string Kind,
    string Namespace,
    string Name,
    string Source,
    string Status,
    ImmutableArray<string> Messages,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonNode? Resource = null);

/// <param name="Resources">Every resource of the tenant after the change (as it would be, for a dry run or a refusal).</param>
internal sealed record OutcomeDto(
    bool Accepted, bool DryRun, long Version, ImmutableArray<ResourceViewDto> Resources, ImmutableArray<DiagnosticReport> Diagnostics);

internal sealed record UsageDto(int Listeners, int Mappings, int ActiveConnections);

internal sealed record EdgeListenerDto(string Edge, bool Bound, string? Error, int ActiveConnections);

/// <summary>A canary member of the tenant that an edge has ejected now (docs/tcpmapping-semantics.md, "Outlier ejection").</summary>
/// <param name="Host">The group's SNI host; null for the listener's catch-all.</param>
/// <param name="Until">When the ejection ends; null: until the member's health check passes.</param>
internal sealed record EjectionDto(string Edge, string? Host, string Mapping, string Service, string Reason, int Ejection, DateTimeOffset Since, DateTimeOffset? Until);

internal sealed record ListenerStatusDto(
    string Address, int Port, bool Tls, ImmutableArray<string> Routes, bool Bound, int ActiveConnections, ImmutableArray<EdgeListenerDto> Edges,
    ImmutableArray<EjectionDto> Ejections);

internal sealed record TenantStatusDto(
    string Tenant, long Version, QuotaDto Quota, UsageDto Usage, long RefusedConnections, ImmutableArray<ListenerStatusDto> Listeners);

/// <summary>RFC 9457 problem details, with the diagnostics when resources are involved.</summary>
internal sealed record ProblemDto(
    string Type,
    string Title,
    int Status,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableArray<DiagnosticReport>? Diagnostics = null);

// Request bodies. Unknown members are refused (ApiJson.Requests), so a misspelt field is an error, not a silent no-op.

internal sealed record CreateTenantRequest(string? Name, QuotaRequest? Quota);

internal sealed record UpdateTenantRequest(QuotaRequest? Quota);

/// <summary>
/// A quota as an admin sends it. The lists tell a member that is absent (grants nothing) from one that is JSON
/// <c>null</c> (unlimited), so each setter records that its member was present; the numbers are no limit either way.
/// </summary>
internal sealed class QuotaRequest
{
    private readonly HashSet<string> _present = new(StringComparer.Ordinal);

    /// <summary>Each item a port (number or string) or a range <c>"first-last"</c>.</summary>
    public ImmutableArray<System.Text.Json.JsonElement>? AllowedPorts { get; init => Set(out field, value); }

    /// <summary>Address ranges (<c>10.0.0.0/8</c>, a single address) and host globs (<c>*.svc.cluster.local</c>, <c>*</c>).</summary>
    public ImmutableArray<string>? AllowedUpstreams { get; init => Set(out field, value); }

    /// <summary>Host globs that must cover every SNI name the tenant claims.</summary>
    public ImmutableArray<string>? AllowedHosts { get; init => Set(out field, value); }

    public int? MaxListeners { get; init; }

    public int? MaxMappings { get; init; }

    public int? MaxConcurrentConnections { get; init; }

    /// <summary>Whether the member of <paramref name="property"/> (its C# name) was in the JSON, as a value or as null.</summary>
    public bool IsPresent(string property) => _present.Contains(property);

    private void Set<T>(out T field, T value, [System.Runtime.CompilerServices.CallerMemberName] string property = "")
    {
        field = value;
        _present.Add(property);
    }

    // Bounded input (docs/api.md "Limits"): absent is the default, JSON null unlimited, so each is read as an element
    // (absent: ValueKind Undefined; a nullable element would read null as absent).
    public System.Text.Json.JsonElement MaxResourcesPerApply { get; init; }
    public System.Text.Json.JsonElement MaxListenerResources { get; init; }
    public System.Text.Json.JsonElement MaxHosts { get; init; }
    public System.Text.Json.JsonElement MaxTlsContexts { get; init; }
    public System.Text.Json.JsonElement MaxSecrets { get; init; }
    public System.Text.Json.JsonElement MaxModules { get; init; }
    public System.Text.Json.JsonElement MaxStateBytes { get; init; }
}

internal sealed record IssueKeyRequest(string? Description);

internal sealed record FilesRequest(ImmutableArray<FileRequest>? Files);

internal sealed record FileRequest(string? Path, string? Content);

internal sealed record DeleteResourcesRequest(ImmutableArray<ResourceRefRequest>? Resources);

internal sealed record ResourceRefRequest(string? Kind, string? Namespace, string? Name);
