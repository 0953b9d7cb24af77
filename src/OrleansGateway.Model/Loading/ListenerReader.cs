using System.Collections.Immutable;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Loading;

/// <summary><c>kind: Listener</c>. Fields are read and type-checked; the compiler decides what they mean for TCP.</summary>
internal static class ListenerReader
{
    public static Resource Read(ResourceHeader header, FieldReader reader)
    {
        var spec = SpecNode.Get(header, reader);
        var ids = new AmbassadorIdField();
        int? port = null, l7Depth = null;
        string? protocol = null, securityModel = null, statsPrefix = null;
        ImmutableArray<string>? stack = null;
        var hostBinding = false;

        foreach (var (keyNode, value) in SpecNode.Entries(spec))
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "port":
                    port = reader.Int32(value, "spec.port", 1, 65535, numericString: true);
                    break;
                case "protocol":
                    protocol = reader.String(value, "spec.protocol");
                    break;
                case "protocolStack":
                    stack = reader.StringList(value, "spec.protocolStack");
                    break;
                case "securityModel":
                    securityModel = reader.String(value, "spec.securityModel");
                    break;
                case "hostBinding":
                    // Only its presence matters: Emissary requires it, but it never limits TCPMappings.
                    hostBinding = reader.Mapping(value, "spec.hostBinding") is not null;
                    break;
                case "statsPrefix":
                    statsPrefix = reader.String(value, "spec.statsPrefix");
                    break;
                case "l7Depth":
                    l7Depth = reader.Int32(value, "spec.l7Depth", 0);
                    break;
                case "http2MaxConcurrentStreams":
                    // HTTP/2 only: type-checked, no effect on TCP.
                    reader.Int32(value, "spec.http2MaxConcurrentStreams", 1);
                    break;
                case var _ when AmbassadorIdField.IsKey(key):
                    ids.Read(reader, key, value);
                    break;
                default:
                    reader.Unknown(keyNode, "spec." + key);
                    break;
            }
        }

        if (port is null && !reader.HasErrorOn("spec.port"))
        {
            reader.Required(SpecNode.MissingAt(header, spec), "spec.port");
        }

        return header.Finish(reader, () => new ListenerResource
        {
            Name = header.Name,
            Port = port!.Value,
            Protocol = protocol,
            ProtocolStack = stack,
            SecurityModel = securityModel,
            HasHostBinding = hostBinding,
            StatsPrefix = statsPrefix,
            L7Depth = l7Depth,
        }, ids.Value);
    }
}
