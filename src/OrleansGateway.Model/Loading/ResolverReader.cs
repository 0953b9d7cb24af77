using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Loading;

/// <summary>The three resolver kinds. Only ConsulResolver has settings of its own.</summary>
internal static class ResolverReader
{
    public static Resource Read(ResourceHeader header, FieldReader reader, ResolverKind kind)
    {
        var spec = SpecNode.Get(header, reader);
        var ids = new AmbassadorIdField();
        string? address = null, datacenter = null;
        foreach (var (keyNode, value) in SpecNode.Entries(spec))
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "address" when kind == ResolverKind.Consul:
                    address = reader.String(value, "spec.address");
                    break;
                case "datacenter" when kind == ResolverKind.Consul:
                    datacenter = reader.String(value, "spec.datacenter");
                    break;
                case var _ when AmbassadorIdField.IsKey(key):
                    ids.Read(reader, key, value);
                    break;
                default:
                    reader.Unknown(keyNode, "spec." + key,
                        kind == ResolverKind.Consul ? "a ConsulResolver has address and datacenter" : $"a {header.Kind} has no settings");
                    break;
            }
        }

        return header.Finish(reader, () => new ResolverResource
        {
            Name = header.Name,
            ResolverKind = kind,
            Address = address,
            Datacenter = datacenter,
        }, ids.Value);
    }
}
