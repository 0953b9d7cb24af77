using Orleans.Serialization;

namespace OrleansGateway.Grains;

public static class GatewaySerialization
{
    /// <summary>
    /// Model records (resources, plan records, statuses, diagnostics) cross grain calls and grain state as JSON,
    /// so the Model project stays free of Orleans. Silos and clients must both call this.
    /// </summary>
    public static ISerializerBuilder AddGatewayModelSerializer(this ISerializerBuilder builder) =>
        builder.AddJsonSerializer(isSupported: IsModelType);

    /// <summary>Types of the Model project (namespace <c>OrleansGateway.Model</c> and below).</summary>
    public static bool IsModelType(Type type) =>
        type.Namespace is { } ns && (ns == "OrleansGateway.Model" || ns.StartsWith("OrleansGateway.Model.", StringComparison.Ordinal));
}
