using System.Collections.Frozen;
using OrleansGateway.Model.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// The gateway's extensions to Emissary's resources, written as <c>metadata.annotations</c> because Emissary's CRDs
/// prune unknown spec fields (docs/tcpmapping-semantics.md, "Extensions"). Their names and values are a contract. One
/// reader for every source (config directory, API, Kubernetes, <c>ogw check</c>): a value it does not know is an error
/// on the resource, which is then Discarded (or refused by the API), naming the annotation.
/// </summary>
internal static class ExtensionAnnotations
{
    public const string Prefix = "orleansgateway.io/";

    /// <summary>TCPMapping: send a PROXY protocol header (<c>v1</c> or <c>v2</c>) to the upstream.</summary>
    public const string ProxyProtocol = Prefix + "proxy-protocol";

    /// <summary>Every extension annotation a TCPMapping may carry; another <c>orleansgateway.io/</c> key is a warning (a typo is ignored otherwise).</summary>
    private static readonly FrozenSet<string> OnTcpMapping = FrozenSet.ToFrozenSet([ProxyProtocol], StringComparer.Ordinal);

    /// <summary>Warns about <c>orleansgateway.io/</c> annotations the resource's kind has none of. Other annotations are none of the gateway's business.</summary>
    public static void CheckTcpMapping(ResourceHeader header, FieldReader reader)
    {
        if (header.Annotations is not YamlMappingNode annotations)
        {
            return;
        }

        foreach (var keyNode in annotations.Children.Keys)
        {
            var key = FieldReader.Key(keyNode);
            if (key.StartsWith(Prefix, StringComparison.Ordinal) && !OnTcpMapping.Contains(key))
            {
                reader.Note(Severity.Warning, DiagnosticCodes.FieldUnknown, keyNode, Field(key),
                    $"unknown annotation {key} on a TCPMapping; ignored (known: {string.Join(", ", OnTcpMapping.Order(StringComparer.Ordinal))})");
            }
        }
    }

    /// <summary><see cref="ProxyProtocol"/>: <c>v1</c>, <c>v2</c>, or null when absent; anything else is an error on the resource.</summary>
    public static string? ReadProxyProtocol(ResourceHeader header, FieldReader reader)
    {
        if (Find(header, ProxyProtocol) is not { } node)
        {
            return null;
        }

        var value = reader.String(node, Field(ProxyProtocol));
        if (value is "v1" or "v2" || reader.HasErrorOn(Field(ProxyProtocol)))
        {
            return value;
        }

        reader.Error(DiagnosticCodes.AnnotationValue, node, Field(ProxyProtocol),
            $"annotation {ProxyProtocol} is '{LogText.Escape(value ?? "")}'; use \"v1\" or \"v2\" (the PROXY protocol version sent to the upstream), or remove the annotation.");
        return null;
    }

    private static string Field(string annotation) => "metadata.annotations." + annotation;

    private static YamlNode? Find(ResourceHeader header, string name)
    {
        if (header.Annotations is not YamlMappingNode annotations)
        {
            return null;
        }

        foreach (var (keyNode, value) in annotations.Children)
        {
            if (FieldReader.Key(keyNode) == name)
            {
                return value;
            }
        }

        return null;
    }
}
