using System.Collections.Immutable;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Loading;

/// <summary><c>kind: TLSContext</c>.</summary>
internal static class TlsContextReader
{
    public static Resource Read(ResourceHeader header, FieldReader reader)
    {
        var spec = SpecNode.Get(header, reader);
        var ids = new AmbassadorIdField();
        var tls = new TlsParametersReader(reader, "spec.");
        ImmutableArray<string> hosts = [];
        string? secret = null;
        bool? secretNamespacing = null;

        foreach (var (keyNode, value) in SpecNode.Entries(spec))
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "hosts":
                    hosts = reader.StringList(value, "spec.hosts") ?? [];
                    break;
                case "secret":
                    secret = reader.String(value, "spec.secret");
                    break;
                case "secret_namespacing":
                    secretNamespacing = reader.Boolean(value, "spec.secret_namespacing");
                    break;
                case var _ when AmbassadorIdField.IsKey(key):
                    ids.Read(reader, key, value);
                    break;
                case var _ when tls.TryRead(key, keyNode, value):
                    break;
                default:
                    reader.Unknown(keyNode, "spec." + key);
                    break;
            }
        }

        return header.Finish(reader, () => new TlsContextResource
        {
            Name = header.Name,
            Hosts = hosts,
            Secret = secret,
            SecretNamespacing = secretNamespacing,
            Tls = tls.Value,
        }, ids.Value);
    }
}
