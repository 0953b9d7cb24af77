using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>What every resource document has: apiVersion, kind and metadata, plus its <c>spec</c> node.</summary>
internal sealed record ResourceHeader(
    string ApiVersion,
    string Kind,
    string Name,
    string Namespace,
    ImmutableDictionary<string, string> Labels,
    SourceLocation Source,
    YamlMappingNode Root,
    YamlNode? Spec)
{
    /// <summary>getambassador.io/v2 (and v1, which has the same layout) where <c>tls: true</c> is a boolean.</summary>
    public bool IsV2 { get; init; }

    /// <summary><c>metadata.annotations</c> as written; the kind readers take the gateway's extensions from it (<see cref="ExtensionAnnotations"/>).</summary>
    public YamlNode? Annotations { get; init; }

    /// <summary>Copies the identity (and <c>ambassador_id</c>) onto a record built by a kind reader.</summary>
    public T Stamp<T>(T resource, ImmutableArray<string> ambassadorId)
        where T : Resource =>
        (T)((Resource)resource with
        {
            ApiVersion = ApiVersion,
            Name = Name,
            Namespace = Namespace,
            Labels = Labels,
            Source = Source,
            AmbassadorId = ambassadorId,
        });

    /// <summary>The resource when the reader found no error, otherwise an <see cref="InvalidResource"/> carrying the errors.</summary>
    public Resource Finish<T>(FieldReader reader, Func<T> build, ImmutableArray<string> ambassadorId)
        where T : Resource =>
        reader.HasErrors ? Invalid(reader.Errors, ambassadorId) : Stamp(build(), ambassadorId);

    public InvalidResource Invalid(ImmutableArray<Diagnostic> errors, ImmutableArray<string> ambassadorId) => new()
    {
        OriginalKind = Kind,
        ApiVersion = ApiVersion,
        Name = Name,
        Namespace = Namespace,
        Labels = Labels,
        Source = Source,
        AmbassadorId = ambassadorId,
        Errors = errors,
    };
}

/// <summary>
/// <c>spec.ambassador_id</c>, or <c>spec.ambassadorId</c> (a status round-trip can rename the key; Emissary reads
/// <c>ambassadorId</c> first, so it wins when both are present). A string or a list of strings.
/// </summary>
internal struct AmbassadorIdField
{
    private bool fromCamelCase;
    private ImmutableArray<string> ids;

    public readonly ImmutableArray<string> Value => ids.IsDefault ? [] : ids;

    public static bool IsKey(string key) => key is "ambassador_id" or "ambassadorId";

    public void Read(FieldReader reader, string key, YamlNode value)
    {
        var camel = key == "ambassadorId";
        if (fromCamelCase && !camel)
        {
            return;
        }

        var field = "spec." + key;
        if (value is YamlSequenceNode)
        {
            ids = reader.StringList(value, field) ?? [];
        }
        else
        {
            var single = reader.String(value, field);
            ids = single is null ? [] : [single];
        }

        fromCamelCase = camel;
    }
}
