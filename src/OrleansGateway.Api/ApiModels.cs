using System.Collections.Immutable;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OrleansGateway.Reporting;

namespace OrleansGateway.Api;

// The JSON shapes of docs/api.md. The `ogw` client and scripts rely on the field names: append, never rename.

internal sealed record QuotaDto(
    ImmutableArray<string>? AllowedPorts, int? MaxListeners, int? MaxMappings, int? MaxConcurrentConnections)
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

internal sealed record ListenerStatusDto(
    string Address, int Port, bool Tls, ImmutableArray<string> Routes, bool Bound, int ActiveConnections, ImmutableArray<EdgeListenerDto> Edges);

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

/// <param name="AllowedPorts">Each item a port (number or string) or a range <c>"first-last"</c>.</param>
internal sealed record QuotaRequest(
    ImmutableArray<System.Text.Json.JsonElement>? AllowedPorts, int? MaxListeners, int? MaxMappings, int? MaxConcurrentConnections)
{
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
