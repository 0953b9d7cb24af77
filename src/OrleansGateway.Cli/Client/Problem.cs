using System.Collections.Immutable;
using System.Text.Json;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Client;

/// <summary>The parts of an RFC 9457 problem answer (docs/api.md, Errors) that the client prints.</summary>
internal sealed record Problem(string? Title, string? Detail, ImmutableArray<DiagnosticReport> Diagnostics)
{
    /// <summary>Reads what it can: an answer that is not a problem (a proxy's page, an empty 404) gives an empty one.</summary>
    public static Problem From(ApiResponse response)
    {
        if (response.Json() is not { ValueKind: JsonValueKind.Object } json)
        {
            return new Problem(null, null, []);
        }

        ImmutableArray<DiagnosticReport> diagnostics = [];
        if (json.TryGetProperty("diagnostics", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            try
            {
                // The diagnostics have the shape of `ogw check --output json`'s, so they read into the same record.
                diagnostics = [.. list.Deserialize<DiagnosticReport[]>(ApiJson.Options) ?? []];
            }
            catch (JsonException)
            {
                // A diagnostic of another shape: the title and detail still say what went wrong.
            }
        }

        return new Problem(Text(json, "title"), Text(json, "detail"), diagnostics);
    }

    private static string? Text(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>JSON as the management API writes and reads it (camelCase, web defaults).</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}

/// <summary>Tenant keys read <c>ogw.&lt;tenant&gt;.&lt;keyId&gt;.&lt;secret&gt;</c> (docs/api.md); the admin key has no such form.</summary>
internal static class TenantKey
{
    /// <summary>The tenant a tenant key names, so a 403 can say whose key it was; never the secret.</summary>
    public static string? TenantOf(string? token)
    {
        var parts = token?.Split('.');
        return parts is ["ogw", { Length: > 0 } tenant, { Length: > 0 }, { Length: > 0 }] ? tenant : null;
    }
}
