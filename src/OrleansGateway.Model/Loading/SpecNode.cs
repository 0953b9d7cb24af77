using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

internal static class SpecNode
{
    /// <summary>The <c>spec</c> mapping; null when absent (required fields are then reported) or of the wrong type (reported here).</summary>
    public static YamlMappingNode? Get(ResourceHeader header, FieldReader reader) =>
        header.Spec is null ? null : reader.Mapping(header.Spec, "spec");

    /// <summary>The entries of the spec, none when it is absent or invalid.</summary>
    public static IEnumerable<KeyValuePair<YamlNode, YamlNode>> Entries(YamlMappingNode? spec) =>
        spec?.Children ?? (IEnumerable<KeyValuePair<YamlNode, YamlNode>>)[];

    /// <summary>The node to point at when a required spec field is missing: the spec if there is one, else the document.</summary>
    public static YamlNode MissingAt(ResourceHeader header, YamlMappingNode? spec) => spec ?? (YamlNode)header.Root;
}
