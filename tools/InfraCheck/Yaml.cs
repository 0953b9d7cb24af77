using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.InfraCheck;

/// <summary>Reading YAML documents as plain trees: mappings, sequences and scalars, nothing typed.</summary>
internal static class Yaml
{
    /// <summary>Every non-empty document of <paramref name="text"/>; a syntax error names the file.</summary>
    public static List<YamlMappingNode> Documents(string text, string file, List<string> problems)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            problems.Add($"{file}: not valid YAML at line {e.Start.Line}: {e.Message}");
            return [];
        }

        var documents = new List<YamlMappingNode>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlMappingNode mapping)
            {
                documents.Add(mapping);
            }
            else if (document.RootNode is not YamlScalarNode { Value: null or "" })
            {
                problems.Add($"{file}: line {document.RootNode.Start.Line}: a document must be a mapping");
            }
        }

        return documents;
    }

    public static YamlNode? Get(this YamlNode? node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode? Map(this YamlNode? node, string key) => node.Get(key) as YamlMappingNode;

    public static IEnumerable<YamlNode> Seq(this YamlNode? node, string key) =>
        node.Get(key) is YamlSequenceNode sequence ? sequence.Children : [];

    public static string? Str(this YamlNode? node, string key) => (node.Get(key) as YamlScalarNode)?.Value;

    public static string? Str(this YamlNode? node) => (node as YamlScalarNode)?.Value;

    public static IEnumerable<string> Keys(this YamlMappingNode mapping) =>
        mapping.Children.Keys.Select(k => (k as YamlScalarNode)?.Value ?? k.ToString());

    public static IEnumerable<string> Strings(this YamlNode? node, string key) =>
        node.Seq(key).Select(n => n.Str()).OfType<string>();

    public static int Line(this YamlNode node) => (int)node.Start.Line;
}
