using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text.Json;

// The deployment's hooks and the Bicep CLI of its NuGet package run on Linux (x64) only.
[assembly: SupportedOSPlatform("linux")]

namespace OrleansGateway.Infra.Tests;

/// <summary>The repository's deployment files, copies of them to seed mistakes into, and the Bicep CLI.</summary>
internal static class Deployment
{
    private static readonly Lazy<(string? Path, string Reason)> BicepCli = new(FindBicep);
    private static readonly Lazy<JsonDocument> Compiled = new(() => Compile(FindRoot()));

    public static string Root { get; } = FindRoot();

    /// <summary>The Bicep CLI (tools/bicep.sh restores it from NuGet), or null with the reason it cannot be had.</summary>
    public static string? Bicep => BicepCli.Value.Path;

    public static string BicepUnavailable => BicepCli.Value.Reason;

    /// <summary>infra/main.bicep of the repository, compiled once.</summary>
    public static JsonDocument CompiledMain => Compiled.Value;

    /// <summary>A copy of what azd reads (azure.yaml, Dockerfile, infra/, the silo's project file) in a new folder.</summary>
    public static string Copy()
    {
        var target = Path.Combine(Path.GetTempPath(), "ogw-infra-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(target, "src", "OrleansGateway.Silo"));
        File.Copy(Path.Combine(Root, "azure.yaml"), Path.Combine(target, "azure.yaml"));
        File.Copy(Path.Combine(Root, "Dockerfile"), Path.Combine(target, "Dockerfile"));
        File.Copy(Path.Combine(Root, "src", "OrleansGateway.Silo", "OrleansGateway.Silo.csproj"),
            Path.Combine(target, "src", "OrleansGateway.Silo", "OrleansGateway.Silo.csproj"));
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Root, "infra"), "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(Root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
            File.SetUnixFileMode(copy, File.GetUnixFileMode(file));
        }

        return target;
    }

    public static void Replace(string root, string file, string oldText, string newText)
    {
        var path = Path.Combine(root, file);
        var text = File.ReadAllText(path);
        Assert.Contains(oldText, text);
        var at = text.IndexOf(oldText, StringComparison.Ordinal);
        File.WriteAllText(path, text[..at] + newText + text[(at + oldText.Length)..]);
    }

    public static JsonDocument Compile(string root)
    {
        var (exit, output, error) = Run(Bicep!, ["build", Path.Combine(root, "infra", "main.bicep"), "--stdout"]);
        Assert.True(exit == 0 && error.Length == 0, $"bicep build: exit {exit}: {error}");
        return JsonDocument.Parse(output);
    }

    public static (int Exit, string Output, string Error) Run(string program, IEnumerable<string> args, IDictionary<string, string>? env = null,
        string? directory = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory ?? Root };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within 5 minutes");
        }

        return (process.ExitCode, output.Result, error.Result);
    }

    private static (string?, string) FindBicep()
    {
        try
        {
            var (exit, output, error) = Run("bash", [Path.Combine(Root, "tools", "bicep.sh")]);
            return exit == 0 ? (output.Trim(), "") : (null, "the Bicep CLI cannot be obtained: " + error.Trim());
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return (null, "the Bicep CLI cannot be obtained: " + e.Message);
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "azure.yaml")) && File.Exists(Path.Combine(dir.FullName, "OrleansGateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (azure.yaml beside OrleansGateway.sln) is not above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fact that needs the Bicep CLI: reported skipped, with the reason, where it cannot be obtained.</summary>
public sealed class BicepFactAttribute : FactAttribute
{
    public BicepFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        if (Deployment.Bicep is null)
        {
            Skip = Deployment.BicepUnavailable;
        }
    }
}

/// <summary>A theory that needs the Bicep CLI: reported skipped, with the reason, where it cannot be obtained.</summary>
public sealed class BicepTheoryAttribute : TheoryAttribute
{
    public BicepTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        if (Deployment.Bicep is null)
        {
            Skip = Deployment.BicepUnavailable;
        }
    }
}
