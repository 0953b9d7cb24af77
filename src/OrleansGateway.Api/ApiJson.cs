using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansGateway.Api;

internal static class ApiJson
{
    /// <summary>Answers: camelCase, absent values written as null unless a type says otherwise.</summary>
    public static readonly JsonSerializerOptions Answers = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,

        // Answers are application/json, never embedded in HTML: messages keep their quotes and <placeholders> readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Request bodies: camelCase (case-insensitive), and a member the type does not have is an error.</summary>
    public static readonly JsonSerializerOptions Requests = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    public const string ProblemContentType = "application/problem+json";
}
