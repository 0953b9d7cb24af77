using System.Collections.Immutable;
using OrleansGateway.Model.Resources;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary><c>circuit_breakers</c> of a TCPMapping or of the ambassador Module: a list of threshold objects.</summary>
internal static class CircuitBreakerReader
{
    public static ImmutableArray<CircuitBreakerSpec>? Read(FieldReader reader, YamlNode node, string field)
    {
        if (YamlValues.IsNull(node))
        {
            return null;
        }

        if (node is not YamlSequenceNode sequence)
        {
            reader.TypeError(node, field, "a list of circuit breakers ({priority, max_connections, ...})");
            return null;
        }

        var result = ImmutableArray.CreateBuilder<CircuitBreakerSpec>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = $"{field}[{i}]";
            if (reader.Mapping(sequence.Children[i], path) is { } item)
            {
                result.Add(ReadOne(reader, item, path));
            }
            else if (YamlValues.IsNull(sequence.Children[i]))
            {
                reader.TypeError(sequence.Children[i], path, "a circuit breaker ({priority, max_connections, ...})");
            }
        }

        return result.DrainToImmutable();
    }

    private static CircuitBreakerSpec ReadOne(FieldReader reader, YamlMappingNode item, string path)
    {
        var spec = new CircuitBreakerSpec();
        foreach (var (keyNode, value) in item.Children)
        {
            var key = FieldReader.Key(keyNode);
            switch (key)
            {
                case "priority":
                    // Kept as written: the compiler rejects anything but default/high with the mapping's context.
                    spec = spec with { Priority = reader.String(value, $"{path}.priority") };
                    break;
                case "max_connections":
                    spec = spec with { MaxConnections = reader.Int32(value, $"{path}.{key}", 0) };
                    break;
                case "max_pending_requests":
                    spec = spec with { MaxPendingRequests = reader.Int32(value, $"{path}.{key}", 0) };
                    break;
                case "max_requests":
                    spec = spec with { MaxRequests = reader.Int32(value, $"{path}.{key}", 0) };
                    break;
                case "max_retries":
                    spec = spec with { MaxRetries = reader.Int32(value, $"{path}.{key}", 0) };
                    break;
                default:
                    reader.Unknown(keyNode, $"{path}.{key}",
                        "a circuit breaker has priority, max_connections, max_pending_requests, max_requests and max_retries");
                    break;
            }
        }

        return spec;
    }
}
