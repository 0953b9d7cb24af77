using System.Reflection;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// Keeps the layering of docs/architecture.md true: each project may only reference the assemblies its README
/// allows. A reference shows up here as soon as code uses a type from it, so a stray `using` that compiles is caught.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly Model = typeof(OrleansGateway.Model.Compilation.GatewayCompiler).Assembly;
    private static readonly Assembly Proxy = typeof(OrleansGateway.Proxy.ProxyServer).Assembly;

    // The test project references the CLI project, so `ogw.dll` sits beside the tests.
    private static readonly Assembly Cli = Assembly.Load(new AssemblyName("ogw"));

    public static TheoryData<string, string[]> Rules => new()
    {
        // The compiler is pure: the model knows nothing of sockets, hosts, Orleans or HTTP.
        { "OrleansGateway.Model", ["YamlDotNet"] },
        // The data plane takes a plan and certificates; it knows nothing of Orleans or ASP.NET Core.
        { "OrleansGateway.Proxy", ["OrleansGateway.Model", "Microsoft.Extensions.Logging.Abstractions"] },
        // The CLI compiles offline and validates secrets with the data plane's certificate reader; it talks to
        // the gateway only over HTTP, never through Orleans.
        { "ogw", ["OrleansGateway.Model", "OrleansGateway.Proxy", "System.CommandLine"] },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Project_references_only_what_it_may(string assemblyName, string[] allowed)
    {
        var assembly = new[] { Model, Proxy, Cli }.Single(a => a.GetName().Name == assemblyName);

        var forbidden = assembly.GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(name => !IsPlatform(name) && !allowed.Contains(name))
            .ToList();

        Assert.True(forbidden.Count == 0, $"{assemblyName} references {string.Join(", ", forbidden)}; allowed besides the platform: {string.Join(", ", allowed)}");
    }

    [Fact]
    public void No_layer_below_the_silo_references_Orleans_or_AspNetCore()
    {
        foreach (var assembly in new[] { Model, Proxy, Cli })
        {
            var names = assembly.GetReferencedAssemblies().Select(r => r.Name!).ToList();
            Assert.DoesNotContain(names, n => n.StartsWith("Orleans.", StringComparison.Ordinal) || n.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
            Assert.DoesNotContain(names, n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        }
    }

    /// <summary>Only OrleansGateway.KeyVault talks to Azure Key Vault: the layers below stay free of the Azure SDK (docs/key-vault.md).</summary>
    [Fact]
    public void Only_the_KeyVault_project_references_the_Azure_SDK()
    {
        var layers = new[] { "OrleansGateway.Grains", "OrleansGateway.Grains.Abstractions", "OrleansGateway.Edge" }
            .Select(n => Assembly.Load(new AssemblyName(n)))
            .Append(Model).Append(Proxy).Append(Cli);
        foreach (var assembly in layers)
        {
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), r => r.Name!.StartsWith("Azure.", StringComparison.Ordinal));
        }

        var keyVault = Assembly.Load(new AssemblyName("OrleansGateway.KeyVault")).GetReferencedAssemblies().Select(r => r.Name).ToList();
        Assert.Contains("Azure.Security.KeyVault.Certificates", keyVault);
        Assert.DoesNotContain("OrleansGateway.Proxy", keyVault);
        Assert.DoesNotContain("OrleansGateway.Edge", keyVault);
    }

    /// <summary>The .NET base class library (System.*, Microsoft.Win32.*, netstandard) is allowed everywhere.</summary>
    private static bool IsPlatform(string name) =>
        name is "netstandard" or "mscorlib" ||
        name.StartsWith("System.", StringComparison.Ordinal) || name == "System" ||
        name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal);
}
