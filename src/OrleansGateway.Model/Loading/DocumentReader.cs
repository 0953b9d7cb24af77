using System.Collections.Frozen;
using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Turns one parsed YAML document into resources: a mapping is one resource, a top-level list (a JSON array)
/// or a <c>kind: List</c> yields one resource per item. Reads apiVersion/kind/metadata and hands the rest to
/// the reader of the kind.
/// </summary>
internal static class DocumentReader
{
    private const string Ambassador = "getambassador.io/";

    private delegate Resource KindReader(ResourceHeader header, FieldReader reader);

    private static readonly FrozenDictionary<string, KindReader> Readers = new Dictionary<string, KindReader>
    {
        ["TCPMapping"] = TcpMappingReader.Read,
        ["Listener"] = ListenerReader.Read,
        ["Host"] = HostReader.Read,
        ["TLSContext"] = TlsContextReader.Read,
        ["Module"] = ModuleReader.Read,
        ["KubernetesServiceResolver"] = (h, r) => ResolverReader.Read(h, r, ResolverKind.KubernetesService),
        ["KubernetesEndpointResolver"] = (h, r) => ResolverReader.Read(h, r, ResolverKind.KubernetesEndpoint),
        ["ConsulResolver"] = (h, r) => ResolverReader.Read(h, r, ResolverKind.Consul),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static void Read(YamlNode root, DocumentContext document, List<Resource> resources)
    {
        switch (root)
        {
            case YamlMappingNode mapping:
                ReadItem(mapping, "", document, resources, allowList: true);
                break;
            case YamlSequenceNode sequence:
                // A JSON array of objects (or a YAML list of resources).
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    ReadListItem(sequence.Children[i], $"[{i}]", document, resources);
                }

                break;
            default:
                if (!YamlValues.IsNull(root))
                {
                    document.Report(Severity.Error, DiagnosticCodes.DocumentNotMapping, root,
                        $"expected a resource (a mapping with apiVersion, kind and metadata), found {YamlValues.Describe(root)}");
                }

                break;
        }
    }

    private static void ReadListItem(YamlNode item, string path, DocumentContext document, List<Resource> resources)
    {
        if (item is YamlMappingNode mapping)
        {
            ReadItem(mapping, path + ".", document, resources, allowList: false);
        }
        else
        {
            document.Report(Severity.Error, DiagnosticCodes.DocumentNotMapping, item,
                $"{path}: expected a resource (a mapping with apiVersion, kind and metadata), found {YamlValues.Describe(item)}", path);
        }
    }

    /// <param name="prefix">Path of the item inside the document (<c>items[3].</c>), empty for the document itself.</param>
    private static void ReadItem(YamlMappingNode node, string prefix, DocumentContext document, List<Resource> resources, bool allowList)
    {
        YamlNode? apiVersionNode = null, kindNode = null, metadataNode = null, specNode = null, itemsNode = null, bareName = null;
        foreach (var (keyNode, value) in node.Children)
        {
            switch (FieldReader.Key(keyNode))
            {
                case "apiVersion": apiVersionNode = value; break;
                case "kind": kindNode = value; break;
                case "metadata": metadataNode = value; break;
                case "spec": specNode = value; break;
                case "items": itemsNode = value; break;
                case "name": bareName = value; break;
            }
        }

        var kind = HeaderString(kindNode);
        var apiVersion = HeaderString(apiVersionNode);
        if (allowList && kind == "List" && itemsNode is YamlSequenceNode items)
        {
            // kubectl get -o yaml output: each item is a resource of its own.
            for (var i = 0; i < items.Children.Count; i++)
            {
                ReadListItem(items.Children[i], $"items[{i}]", document, resources);
            }

            return;
        }

        var metadata = metadataNode as YamlMappingNode;
        YamlNode? nameNode = null, namespaceNode = null, labelsNode = null, annotationsNode = null;
        if (metadata is not null)
        {
            foreach (var (keyNode, value) in metadata.Children)
            {
                switch (FieldReader.Key(keyNode))
                {
                    case "name": nameNode = value; break;
                    case "namespace": namespaceNode = value; break;
                    case "labels": labelsNode = value; break;
                    case "annotations": annotationsNode = value; break;
                }
            }
        }

        // Emissary's annotation format (apiVersion ambassador/vN) has the name at the top level and no metadata.
        var annotationStyle = apiVersion is not null && apiVersion.StartsWith("ambassador/", StringComparison.Ordinal);
        if (nameNode is null && annotationStyle)
        {
            nameNode = bareName;
        }

        var name = HeaderString(nameNode);
        if (string.IsNullOrEmpty(kind) || string.IsNullOrEmpty(apiVersion) || string.IsNullOrEmpty(name))
        {
            ReportMissing(node, prefix, document,
                string.IsNullOrEmpty(kind), kindNode, string.IsNullOrEmpty(apiVersion), apiVersionNode, string.IsNullOrEmpty(name), metadataNode, nameNode);
            return;
        }

        var source = document.At(node);
        var ns = HeaderString(namespaceNode);
        var identity = new ResourceRef(kind, string.IsNullOrEmpty(ns) ? "default" : ns, name);
        var reader = new FieldReader(document, identity);
        if (namespaceNode is not null && !YamlValues.IsNull(namespaceNode) && string.IsNullOrEmpty(ns))
        {
            reader.TypeError(namespaceNode, "metadata.namespace", "a non-empty string");
        }

        var header = new ResourceHeader(apiVersion, kind, name, identity.Namespace, ImmutableDictionary<string, string>.Empty, source, node, specNode)
        {
            Annotations = annotationsNode,
        };
        resources.Add(Dispatch(header, reader, annotationStyle, labelsNode, () => CheckNames(header, reader, nameNode!, namespaceNode)));
    }

    /// <param name="checkNames">Run for the kinds this gateway reads: a foreign resource's name is none of our business.</param>
    private static Resource Dispatch(ResourceHeader header, FieldReader reader, bool annotationStyle, YamlNode? labelsNode, Action checkNames)
    {
        // Labels are read only for kinds this gateway handles: a foreign resource's fields are none of our business.
        ResourceHeader Labelled() => labelsNode is null
            ? header
            : header with { Labels = reader.StringMap(labelsNode, "metadata.labels") ?? ImmutableDictionary<string, string>.Empty };

        var (apiVersion, kind) = (header.ApiVersion, header.Kind);
        if (apiVersion == "v1" && kind == "Secret")
        {
            checkNames();
            return SecretReader.Read(Labelled(), reader);
        }

        var known = Readers.TryGetValue(kind, out var read);
        if (known && apiVersion is "getambassador.io/v3alpha1" or "getambassador.io/v2" or "getambassador.io/v1")
        {
            if (kind == "Module" && header.Name != "ambassador")
            {
                return Foreign(header, reader, Severity.Info, DiagnosticCodes.KindForeign,
                    $"Module '{header.Name}' is not interpreted (only the Module named 'ambassador' is); ignored");
            }

            WarnUnknownTopLevel(header, reader);
            checkNames();
            return read!(Labelled() with { IsV2 = apiVersion != "getambassador.io/v3alpha1" }, reader);
        }

        if (annotationStyle)
        {
            return Foreign(header, reader, Severity.Warning, DiagnosticCodes.KindApiVersion,
                $"apiVersion {apiVersion} is Emissary's annotation format, which OrleansGateway does not read; " +
                "write it as a getambassador.io/v3alpha1 resource with metadata and spec; ignored");
        }

        if (known && apiVersion.StartsWith(Ambassador, StringComparison.Ordinal))
        {
            return Foreign(header, reader, Severity.Warning, DiagnosticCodes.KindApiVersion,
                $"apiVersion {apiVersion} is not supported for kind {kind} (use getambassador.io/v3alpha1 or getambassador.io/v2); ignored");
        }

        // Other Emissary kinds (Mapping, AuthService, ...) are HTTP features; the rest is ordinary Kubernetes.
        var why = apiVersion.StartsWith(Ambassador, StringComparison.Ordinal)
            ? $"kind {kind} is not handled by OrleansGateway (layer 4 only); ignored"
            : $"kind {kind} ({apiVersion}) is not handled by OrleansGateway; ignored";
        return Foreign(header, reader, Severity.Info, DiagnosticCodes.KindForeign, why);
    }

    /// <summary>
    /// The Kubernetes name rules (<see cref="ResourceNames"/>): a resource named otherwise is an error on the resource,
    /// which is then Discarded (config directory, <c>ogw check</c>) or refused (the API's Strict apply).
    /// </summary>
    private static void CheckNames(ResourceHeader header, FieldReader reader, YamlNode nameNode, YamlNode? namespaceNode)
    {
        if (ResourceNames.NameProblem(header.Name) is { } name)
        {
            reader.Error(DiagnosticCodes.FieldName, nameNode, "metadata.name", name);
        }

        // An absent namespace is "default"; an empty one already has its type error.
        if (namespaceNode is not null && !reader.HasErrorOn("metadata.namespace") && ResourceNames.NamespaceProblem(header.Namespace) is { } ns)
        {
            reader.Error(DiagnosticCodes.FieldName, namespaceNode, "metadata.namespace", ns);
        }
    }

    private static ForeignResource Foreign(ResourceHeader header, FieldReader reader, Severity severity, string code, string message)
    {
        reader.Note(severity, code, header.Root, "kind", message);
        return header.Stamp(new ForeignResource { OriginalKind = header.Kind, Name = header.Name }, []);
    }

    /// <summary>Top-level keys other than the usual ones are usually a mis-indented spec field.</summary>
    private static void WarnUnknownTopLevel(ResourceHeader header, FieldReader reader)
    {
        foreach (var keyNode in header.Root.Children.Keys)
        {
            var key = FieldReader.Key(keyNode);
            if (key is not ("apiVersion" or "kind" or "metadata" or "spec" or "status"))
            {
                reader.Unknown(keyNode, key, "resource fields belong under spec (is it indented correctly?)");
            }
        }
    }

    private static void ReportMissing(
        YamlMappingNode node, string prefix, DocumentContext document,
        bool noKind, YamlNode? kindNode, bool noApiVersion, YamlNode? apiVersionNode, bool noName, YamlNode? metadataNode, YamlNode? nameNode)
    {
        var where = prefix.Length == 0 ? "" : prefix.TrimEnd('.') + ": ";
        if (noKind)
        {
            document.Report(Severity.Error, DiagnosticCodes.KindMissing, kindNode ?? node,
                $"{where}{Missing("kind", kindNode)}; the document was not loaded", prefix + "kind");
        }

        if (noApiVersion)
        {
            document.Report(Severity.Error, DiagnosticCodes.ApiVersionMissing, apiVersionNode ?? node,
                $"{where}{Missing("apiVersion", apiVersionNode)}; the document was not loaded", prefix + "apiVersion");
        }

        if (noName)
        {
            var what = metadataNode is null or YamlMappingNode || YamlValues.IsNull(metadataNode)
                ? Missing("metadata.name", nameNode)
                : $"metadata must be a mapping with a name, found {YamlValues.Describe(metadataNode)}";
            document.Report(Severity.Error, DiagnosticCodes.NameMissing, nameNode ?? metadataNode ?? node,
                $"{where}{what}; the document was not loaded", prefix + "metadata.name");
        }
    }

    private static string Missing(string field, YamlNode? node) => node is null || YamlValues.IsNull(node)
        ? $"{field} is missing"
        : $"{field} must be a non-empty string, found {YamlValues.Describe(node)}";

    private static string? HeaderString(YamlNode? node) =>
        node is YamlScalarNode scalar && !YamlValues.IsNull(scalar) ? scalar.Value : null;
}
