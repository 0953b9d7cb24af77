using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary><c>kind: Host</c>: its hostname and TLS side; the HTTP-only parts are accepted without effect.</summary>
internal static class HostReader
{
    public static Resource Read(ResourceHeader header, FieldReader reader)
    {
        var spec = SpecNode.Get(header, reader);
        var ids = new AmbassadorIdField();
        var tls = new TlsParametersReader(reader, "spec.tls.");
        string? hostname = null, secretName = null, secretNamespace = null, contextName = null;

        foreach (var (keyNode, value) in SpecNode.Entries(spec))
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "hostname":
                    hostname = reader.String(value, "spec.hostname");
                    break;
                case "tlsSecret":
                    foreach (var (k, v) in Entries(reader, value, "spec.tlsSecret"))
                    {
                        switch (k)
                        {
                            case "name": secretName = reader.String(v, "spec.tlsSecret.name"); break;
                            case "namespace": secretNamespace = reader.String(v, "spec.tlsSecret.namespace"); break;
                            default: reader.Unknown(v, "spec.tlsSecret." + k, "tlsSecret has name and namespace"); break;
                        }
                    }

                    break;
                case "tlsContext":
                    foreach (var (k, v) in Entries(reader, value, "spec.tlsContext"))
                    {
                        if (k == "name")
                        {
                            contextName = reader.String(v, "spec.tlsContext.name");
                        }
                        else
                        {
                            reader.Unknown(v, "spec.tlsContext." + k, "tlsContext has only a name");
                        }
                    }

                    break;
                case "tls":
                    foreach (var (k, v) in Entries(reader, value, "spec.tls"))
                    {
                        if (!tls.TryRead(k, v, v))
                        {
                            reader.Unknown(v, "spec.tls." + k);
                        }
                    }

                    break;
                case "acmeProvider" or "requestPolicy" or "mappingSelector" or "selector" or "previewUrl" or "generation":
                    // HTTP and ACME features of Host: valid Emissary, no effect on TCPMappings.
                    break;
                case var _ when AmbassadorIdField.IsKey(key):
                    ids.Read(reader, key, value);
                    break;
                default:
                    reader.Unknown(keyNode, "spec." + key);
                    break;
            }
        }

        return header.Finish(reader, () => new HostResource
        {
            Name = header.Name,
            Hostname = hostname,
            TlsSecretName = secretName,
            TlsSecretNamespace = secretNamespace,
            TlsContextName = contextName,
            Tls = tls.Any ? tls.Value : null,
        }, ids.Value);
    }

    /// <summary>The entries of a nested object; a non-mapping is reported as a type error.</summary>
    private static IEnumerable<(string Key, YamlNode Value)> Entries(FieldReader reader, YamlNode node, string field)
    {
        if (reader.Mapping(node, field) is not { } mapping)
        {
            yield break;
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            yield return (FieldReader.Key(keyNode), value);
        }
    }
}
