using System.Collections.Frozen;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

public static class GatewaySerialization
{
    /// <summary>
    /// Model records (resources, plan records, statuses, diagnostics) cross grain calls and grain state as JSON,
    /// so the Model project stays free of Orleans. Silos and clients must both call this.
    /// </summary>
    public static ISerializerBuilder AddGatewayModelSerializer(this ISerializerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<ITypeConverter, ModelTypeNames>();
        return builder.AddJsonSerializer(isSupported: IsModelType);
    }

    /// <summary>Types of the Model project (namespace <c>OrleansGateway.Model</c> and below).</summary>
    public static bool IsModelType(Type type) =>
        type.Namespace is { } ns && (ns == "OrleansGateway.Model" || ns.StartsWith("OrleansGateway.Model.", StringComparison.Ordinal));
}

/// <summary>
/// The names Model types travel under. The JSON codec writes the type of every Model value it serializes, and Orleans
/// would write the CLR name with its namespace, so a namespace of the Model (its folders: Resources, Plan, Compilation,
/// ...) would be part of stored grain state and of the wire. Every public Model type is written as
/// <c>OrleansGateway.Model.&lt;Name&gt;,OrleansGateway.Model</c> instead, the name it had before the Model's namespaces
/// followed its folders, whatever its namespace now; simple names of public Model types are unique (ArchitectureTests).
/// </summary>
internal sealed class ModelTypeNames : ITypeConverter
{
    private const string Prefix = "OrleansGateway.Model.";
    private const string Assembly = "OrleansGateway.Model";

    private static readonly FrozenDictionary<Type, string> Names = typeof(GatewayPlan).Assembly.GetExportedTypes()
        .Where(t => !t.IsNested && !t.IsGenericTypeDefinition)
        .ToFrozenDictionary(t => t, t => $"{Prefix}{t.Name},{Assembly}");

    private static readonly FrozenDictionary<string, Type> Types = Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    public bool TryFormat(Type type, out string formatted) => Names.TryGetValue(type, out formatted!);

    public bool TryParse(string formatted, out Type type) => Types.TryGetValue(formatted, out type!);
}
