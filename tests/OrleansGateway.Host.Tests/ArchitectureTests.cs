using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// Keeps the layering of docs/architecture.md true for every project under src/: each may only reference the
/// assemblies its row allows (and its README says), a project without a row fails, and every source file declares the
/// namespace of its folder. A reference shows up here as soon as code uses a type from it, so a stray `using` that
/// compiles is caught. Every src assembly is in this test's output: it references the Silo, which references them all.
/// </summary>
public sealed partial class ArchitectureTests
{
    private const string Orleans = "Orleans.*";
    private const string Logging = "Microsoft.Extensions.Logging.Abstractions";

    /// <summary>Assembly → what it may reference besides the .NET base library (<see cref="Matches"/>).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        // The compiler is pure: the model knows nothing of sockets, hosts, certificates on disk, Orleans or HTTP.
        ["OrleansGateway.Model"] = ["YamlDotNet"],

        // Certificate material for everyone, the CLI and the data plane included: no Orleans, no ASP.NET Core, no Azure.
        ["OrleansGateway.Certificates"] = ["OrleansGateway.Model"],

        // The data plane takes a plan and certificates; it knows nothing of Orleans or ASP.NET Core.
        ["OrleansGateway.Proxy"] = ["OrleansGateway.Model", "OrleansGateway.Certificates", Logging],

        // What `ogw check` and `/status` both report: offline, so never the data plane or Orleans.
        ["OrleansGateway.Reporting"] = ["OrleansGateway.Model", "OrleansGateway.Certificates", "System.CommandLine"],

        // The CLI compiles offline and talks to the gateway over HTTP only: never the data plane, Orleans or ASP.NET Core.
        ["ogw"] = ["OrleansGateway.Model", "OrleansGateway.Certificates", "OrleansGateway.Reporting", "System.CommandLine"],

        // Grain contracts: interfaces and messages only.
        ["OrleansGateway.Grains.Abstractions"] = ["OrleansGateway.Model", "OrleansGateway.Certificates", Orleans, "Microsoft.Extensions.DependencyInjection.Abstractions"],

        // The grains: never the data plane, the API or a source.
        ["OrleansGateway.Grains"] =
        [
            "OrleansGateway.Model", "OrleansGateway.Certificates", "OrleansGateway.Grains.Abstractions", Orleans,
            "Microsoft.Extensions.DependencyInjection.Abstractions", "Microsoft.Extensions.Options", Logging,
        ],

        // The edge: grain interfaces, never the grain implementations (an edge-only silo cannot activate them).
        ["OrleansGateway.Edge"] =
        [
            "OrleansGateway.Model", "OrleansGateway.Certificates", "OrleansGateway.Grains.Abstractions", "OrleansGateway.Proxy", Orleans,
            Logging, "Microsoft.Extensions.Hosting.Abstractions",
        ],

        // The only project that talks to Azure Key Vault; it needs the certificate seam, not the grains.
        ["OrleansGateway.KeyVault"] =
        [
            "OrleansGateway.Model", "OrleansGateway.Certificates", "Azure.Core", "Azure.Identity", "Azure.Security.KeyVault.*",
            "Microsoft.Extensions.DependencyInjection.Abstractions", Logging,
        ],

        // The management API: the cluster through grain interfaces only, never the grains, the edge or the data plane.
        ["OrleansGateway.Api"] =
        [
            "OrleansGateway.Model", "OrleansGateway.Certificates", "OrleansGateway.Grains.Abstractions", "OrleansGateway.Reporting", Orleans,
            "Microsoft.AspNetCore.*", "Microsoft.Extensions.*", "Microsoft.Net.Http.Headers", "Microsoft.OpenApi",
        ],

        // The seam every source applies through.
        ["OrleansGateway.Sources"] = ["OrleansGateway.Model", "OrleansGateway.Grains.Abstractions", Orleans],

        // The config directory source: the seam, the evaluation `ogw check` runs, grain interfaces.
        ["OrleansGateway.Sources.ConfigDirectory"] =
        [
            "OrleansGateway.Model", "OrleansGateway.Grains.Abstractions", "OrleansGateway.Sources", "OrleansGateway.Reporting", Orleans,
            Logging, "Microsoft.Extensions.Hosting.Abstractions",
        ],

        // The Kubernetes source: the seam, grain interfaces and KubernetesClient (YamlDotNet: its kubeconfig errors).
        ["OrleansGateway.Sources.Kubernetes"] =
        [
            "OrleansGateway.Model", "OrleansGateway.Grains.Abstractions", "OrleansGateway.Sources", Orleans, "KubernetesClient", "YamlDotNet",
            Logging, "Microsoft.Extensions.Hosting.Abstractions", "Microsoft.Extensions.DependencyInjection.Abstractions",
            "Microsoft.Extensions.Diagnostics.Abstractions",
        ],

        // The composition root wires everything.
        ["OrleansGateway.Silo"] = ["*"],
    };

    public static TheoryData<string> Projects => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Projects))]
    public void Project_references_only_what_it_may(string assemblyName)
    {
        var allowed = Allowed[assemblyName];
        var forbidden = Assembly.Load(new AssemblyName(assemblyName)).GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(name => !IsPlatform(name) && !allowed.Any(a => Matches(a, name)))
            .ToList();

        Assert.True(forbidden.Count == 0, $"{assemblyName} references {string.Join(", ", forbidden)}; allowed besides the platform: {string.Join(", ", allowed)}");
    }

    [Fact]
    public void Every_project_under_src_has_a_row_and_every_row_a_project()
    {
        var assemblies = Directory.GetFiles(Path.Combine(RepositoryRoot(), "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(AssemblyNameOf)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(assemblies.Except(Allowed.Keys));
        Assert.Empty(Allowed.Keys.Except(assemblies));
    }

    [Fact]
    public void Every_source_file_declares_the_namespace_of_its_folder()
    {
        var wrong = new List<string>();
        foreach (var project in Directory.GetFiles(Path.Combine(RepositoryRoot(), "src"), "*.csproj", SearchOption.AllDirectories))
        {
            var root = Path.GetDirectoryName(project)!;
            var rootNamespace = RootNamespaceOf(project);
            foreach (var file in Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories).Where(f => !IsBuildOutput(root, f)))
            {
                var folder = Path.GetRelativePath(root, Path.GetDirectoryName(file)!);
                var expected = folder == "." ? rootNamespace : $"{rootNamespace}.{folder.Replace(Path.DirectorySeparatorChar, '.')}";
                var declared = NamespaceLine().Match(File.ReadAllText(file)) is { Success: true } m ? m.Groups[1].Value : "(none)";
                if (declared != expected)
                {
                    wrong.Add($"{Path.GetRelativePath(RepositoryRoot(), file)}: {declared}, expected {expected}");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>The .NET base class library (System.*, Microsoft.Win32.*, netstandard) is allowed everywhere.</summary>
    private static bool IsPlatform(string name) =>
        name is "netstandard" or "mscorlib" or "System" ||
        (name.StartsWith("System.", StringComparison.Ordinal) && name != "System.CommandLine") ||
        name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal);

    /// <summary><c>X.*</c> is X and everything below it.</summary>
    private static bool Matches(string allowed, string name) =>
        allowed == "*" || allowed == name
        || (allowed.EndsWith(".*", StringComparison.Ordinal) && (name == allowed[..^2] || name.StartsWith(allowed[..^1], StringComparison.Ordinal)));

    private static string AssemblyNameOf(string project) =>
        Property(project, "AssemblyName") ?? Path.GetFileNameWithoutExtension(project);

    private static string RootNamespaceOf(string project) =>
        Property(project, "RootNamespace") ?? Path.GetFileNameWithoutExtension(project);

    private static string? Property(string project, string name) =>
        Regex.Match(File.ReadAllText(project), $"<{name}>([^<]+)</{name}>") is { Success: true } m ? m.Groups[1].Value : null;

    private static bool IsBuildOutput(string root, string file) =>
        Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar)[0] is "bin" or "obj";

    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", ".."));

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();
}
