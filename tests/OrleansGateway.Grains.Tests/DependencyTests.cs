using System.Reflection;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains.Tests;

/// <summary>The layering of docs/control-plane.md: edges never reference the grain implementations.</summary>
public sealed class DependencyTests
{
    private static readonly Assembly Abstractions = typeof(ITenantGrain).Assembly;
    private static readonly Assembly Edge = typeof(OrleansGateway.Edge.EdgeRouteCache).Assembly;
    private static readonly Assembly Model = typeof(OrleansGateway.Model.Compilation.GatewayCompiler).Assembly;

    [Fact]
    public void Abstractions_reference_only_the_model_and_Orleans()
    {
        var names = References(Abstractions);
        Assert.All(names, n => Assert.True(n == "OrleansGateway.Model" || n.StartsWith("Orleans.", StringComparison.Ordinal) || IsPlatform(n), n));
    }

    [Fact]
    public void The_edge_does_not_reference_the_grain_implementations()
    {
        Assert.DoesNotContain("OrleansGateway.Grains", References(Edge));
        Assert.Contains("OrleansGateway.Grains.Abstractions", References(Edge));
    }

    [Fact]
    public void The_model_stays_free_of_Orleans()
    {
        Assert.DoesNotContain(References(Model), n => n.StartsWith("Orleans", StringComparison.Ordinal));
    }

    private static List<string> References(Assembly assembly) => [.. assembly.GetReferencedAssemblies().Select(r => r.Name!)];

    private static bool IsPlatform(string name) =>
        name is "netstandard" or "mscorlib" or "System" || name.StartsWith("System.", StringComparison.Ordinal)
        || name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal);
}
