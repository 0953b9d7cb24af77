using System.Globalization;

namespace OrleansGateway.Bench.Scale;

internal enum GrainStorage
{
    Memory,
    Azure,
}

/// <summary>The command line; every option has a default that runs the issue's sizes.</summary>
internal sealed record BenchOptions
{
    public const string Help = """
        Usage: dotnet run -c Release --project bench/OrleansGateway.Bench.Scale -- [options]
          --workloads LIST     sni,ports,mixed (default all three; empty: none)
          --storage LIST       grain storages for the tenant-grain apply: memory,azure (default both; none: skip)
          --runs N             runs per measurement; the median is reported (default 3)
          --sni N              TLS TCPMappings with distinct SNI hosts on one port (default 10000)
          --ports N            cleartext TCPMappings, one port each (default 2000)
          --connections N      connections kept open and echoing through the re-apply (default 200)
          --base-port N        free ports on 127.0.0.1 are taken from here up (default 24000)
          --connection-string  Azure Table storage (default UseDevelopmentStorage=true: Azurite on 127.0.0.1:10002)
        """;

    public IReadOnlyList<WorkloadKind> Workloads { get; init; } = [WorkloadKind.Sni, WorkloadKind.Ports, WorkloadKind.Mixed];
    public IReadOnlyList<GrainStorage> Storages { get; init; } = [GrainStorage.Memory, GrainStorage.Azure];
    public int Runs { get; init; } = 3;
    public int Sni { get; init; } = 10_000;
    public int Ports { get; init; } = 2_000;
    public int Connections { get; init; } = 200;
    public int BasePort { get; init; } = 24_000;
    public string ConnectionString { get; init; } = "UseDevelopmentStorage=true";
    public bool ShowHelp { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                return options with { ShowHelp = true };
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            var value = args[++i];
            options = name switch
            {
                "--workloads" => options with { Workloads = List<WorkloadKind>(value, name) },
                "--storage" => options with { Storages = value == "none" ? [] : List<GrainStorage>(value, name) },
                "--runs" => options with { Runs = Number(value, name, 1) },
                "--sni" => options with { Sni = Number(value, name, 1) },
                "--ports" => options with { Ports = Number(value, name, 1) },
                "--connections" => options with { Connections = Number(value, name, 2) },
                "--base-port" => options with { BasePort = Number(value, name, 1024) },
                "--connection-string" => options with { ConnectionString = value },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }

        return options;
    }

    private static int Number(string value, string name, int min) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new ArgumentException($"{name} expects a whole number >= {min}, not '{value}'");

    private static List<T> List<T>(string value, string name) where T : struct, Enum =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v =>
            Enum.TryParse<T>(v, ignoreCase: true, out var parsed)
                ? parsed
                : throw new ArgumentException($"{name}: '{v}' is not one of {string.Join(", ", Enum.GetNames<T>()).ToLowerInvariant()}"))];
}
