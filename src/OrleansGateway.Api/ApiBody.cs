using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Api;

/// <summary>A body read within the limit, or the problem to answer instead.</summary>
internal readonly record struct BodyRead<T>(T? Value, IResult? Problem);

/// <summary>
/// Reads request bodies by hand rather than through parameter binding, so that every bad body gets a problem that
/// says what to fix: the size limit (413), the content type (415), empty or unreadable bodies (400).
/// </summary>
internal static class ApiBody
{
    /// <summary>4 MiB: far more than any tenant's resources; bounds the memory one request can take.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    public const string Json = "application/json";
    public const string Files = "application/vnd.ogw.files+json";
    public static readonly ImmutableArray<string> Yaml = ["application/yaml", "application/x-yaml", "text/yaml"];
    public static readonly ImmutableArray<string> ApplyTypes = [.. Yaml, Json, Files];

    /// <summary>The name diagnostics give a raw YAML or JSON body.</summary>
    public const string RequestBodyFile = "request body";

    /// <summary>The media type without parameters, lower case; null when absent or unreadable.</summary>
    public static string? MediaType(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value?.ToLowerInvariant() : null;

    /// <summary>The body as UTF-8 text. <paramref name="allowEmpty"/> false: an empty body is a 400.</summary>
    public static async Task<BodyRead<string>> ReadTextAsync(HttpRequest request, bool allowEmpty, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBytes)
        {
            return new(null, ApiProblems.TooLarge(MaxBytes));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return new(null, ApiProblems.TooLarge(MaxBytes));
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0 && !allowEmpty)
        {
            return new(null, ApiProblems.BadRequest("the body is empty; send the resources (YAML or JSON) or the JSON this endpoint takes"));
        }

        try
        {
            return new(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length), null);
        }
        catch (DecoderFallbackException)
        {
            return new(null, ApiProblems.BadRequest("the body is not valid UTF-8 text; send UTF-8"));
        }
    }

    /// <summary>
    /// A JSON body of <typeparamref name="T"/> (Content-Type application/json). With <paramref name="optional"/>, an
    /// empty body gives <paramref name="empty"/>.
    /// </summary>
    public static async Task<BodyRead<T>> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken, bool optional = false, T? empty = default)
        where T : class
    {
        var type = MediaType(request);
        if (type is not null && type != Json)
        {
            return new(null, ApiProblems.UnsupportedType(request.ContentType, [Json]));
        }

        var text = await ReadTextAsync(request, optional, cancellationToken);
        if (text.Problem is not null)
        {
            return new(null, text.Problem);
        }

        if (text.Value!.Length == 0)
        {
            return new(empty, null);
        }

        if (type is null)
        {
            return new(null, ApiProblems.UnsupportedType(request.ContentType, [Json]));
        }

        try
        {
            return JsonSerializer.Deserialize<T>(text.Value, ApiJson.Requests) is { } value
                ? new(value, null)
                : new(null, ApiProblems.BadRequest("the body is JSON null; send a JSON object"));
        }
        catch (JsonException e)
        {
            return new(null, ApiProblems.BadRequest($"the body is not the JSON this endpoint takes: {Describe(e)}; see docs/api.md for its fields"));
        }
    }

    /// <summary>
    /// The files of an apply body: one named <see cref="RequestBodyFile"/> for YAML or JSON, the listed ones for
    /// <see cref="Files"/>.
    /// </summary>
    public static async Task<BodyRead<ImmutableArray<(string Path, string Content)>>> ReadApplyFilesAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var type = MediaType(request);
        if (type is null || !ApplyTypes.Contains(type))
        {
            return new(default, ApiProblems.UnsupportedType(request.ContentType, ApplyTypes));
        }

        var text = await ReadTextAsync(request, allowEmpty: false, cancellationToken);
        if (text.Problem is not null)
        {
            return new(default, text.Problem);
        }

        if (type != Files)
        {
            return new([(RequestBodyFile, text.Value!)], null);
        }

        FilesRequest? body;
        try
        {
            body = JsonSerializer.Deserialize<FilesRequest>(text.Value!, ApiJson.Requests);
        }
        catch (JsonException e)
        {
            return new(default, ApiProblems.BadRequest($"the body is not {Files}: {Describe(e)}; send {{\"files\": [{{\"path\": \"a.yaml\", \"content\": \"...\"}}]}}"));
        }

        if (body?.Files is not { IsEmpty: false } files)
        {
            return new(default, ApiProblems.BadRequest($"the {Files} body has no files; send {{\"files\": [{{\"path\": \"a.yaml\", \"content\": \"...\"}}]}}"));
        }

        for (var i = 0; i < files.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(files[i].Path) || files[i].Content is null)
            {
                return new(default, ApiProblems.BadRequest($"files[{i}] needs a non-empty \"path\" and a \"content\" string"));
            }
        }

        return new([.. files.Select(f => (f.Path!, f.Content!))], null);
    }

    /// <summary>What the JSON parser said, with its position, without echoing the body.</summary>
    private static string Describe(JsonException e) =>
        e.Path is null ? e.Message : $"{e.Message.Split(" Path:", 2)[0]} (at {e.Path}, line {(e.LineNumber ?? 0) + 1})";

    /// <summary>The loaded resources, or the 400 to answer: unreadable documents, unknown kinds, duplicates, nothing at all.</summary>
    public static (ImmutableArray<Resource> Resources, IResult? Problem) Load(ImmutableArray<(string Path, string Content)> files)
    {
        var resources = new List<Resource>();
        var diagnostics = new List<Diagnostic>();
        foreach (var (path, content) in files)
        {
            var load = ResourceLoader.Parse(content, path);
            resources.AddRange(load.Resources);
            diagnostics.AddRange(load.Diagnostics);
        }

        var unreadable = diagnostics.Where(d => d.Severity == Severity.Error && d.Resource is null).ToList();
        if (unreadable.Count > 0)
        {
            return ([], ApiProblems.BadRequest(
                $"{unreadable.Count} document(s) cannot be read as resources; fix them (see diagnostics) and send again. Nothing was applied",
                ApiProblems.Reports(unreadable)));
        }

        var unknown = resources.OfType<ForeignResource>().Select(f => new Diagnostic(
            Severity.Error,
            DiagnosticCodes.KindUnknown,
            $"kind '{f.OriginalKind}' (apiVersion {f.ApiVersion}) is not one this gateway handles; use TCPMapping, Listener, Host, TLSContext, " +
            "Module, KubernetesServiceResolver, KubernetesEndpointResolver, ConsulResolver (getambassador.io/v3alpha1 or v2) or Secret (v1), " +
            "or remove the document",
            f.Ref,
            f.Source,
            "kind")).ToList();
        if (unknown.Count > 0)
        {
            return ([], ApiProblems.BadRequest($"{unknown.Count} document(s) have a kind this gateway does not handle. Nothing was applied", ApiProblems.Reports(unknown)));
        }

        var duplicates = resources.GroupBy(r => r.Ref).Where(g => g.Count() > 1).SelectMany(g => g.Skip(1).Select(r => new Diagnostic(
            Severity.Error,
            DiagnosticCodes.ResourceDuplicate,
            $"{g.Key} appears {g.Count()} times in this request (first at {g.First().Source}); send each kind/namespace/name once",
            r.Ref,
            r.Source))).ToList();
        if (duplicates.Count > 0)
        {
            return ([], ApiProblems.BadRequest("the same resource appears more than once in this request. Nothing was applied", ApiProblems.Reports(duplicates)));
        }

        if (resources.Count == 0)
        {
            return ([], ApiProblems.BadRequest("the body holds no resource; send at least one document with apiVersion, kind and metadata.name"));
        }

        return ([.. resources], null);
    }
}
