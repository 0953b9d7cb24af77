using System.CommandLine;
using OrleansGateway.Bench.Propagation;

var silos = new Option<int>("--silos") { Description = "Silos in the cluster, each with an edge: 1 or 3.", DefaultValueFactory = _ => 1 };
silos.AcceptOnlyFromAmong("1", "3");
var storage = new Option<string>("--storage") { Description = "Grain storage: memory, or azure (Azure Table storage, e.g. Azurite).", DefaultValueFactory = _ => "memory" };
storage.AcceptOnlyFromAmong("memory", "azure");
var applies = new Option<int>("--applies") { Description = "Measured applies per configuration.", DefaultValueFactory = _ => 100 };
var warmup = new Option<int>("--warmup") { Description = "Applies made first and not measured (JIT, first grain activations).", DefaultValueFactory = _ => 6 };
var all = new Option<bool>("--all") { Description = "Run 1 and 3 silos with memory and azure storage; print one table." };
var connection = new Option<string>("--connection-string")
{
    Description = "Azure Table storage for --storage azure (Azurite: tools/azurite/start.sh).",
    DefaultValueFactory = _ => "UseDevelopmentStorage=true",
};
var pollMs = new Option<int>("--poll-ms")
{
    Description = "The edges' directory poll interval in ms (production: 1000). A huge value leaves only the observer push.",
    DefaultValueFactory = _ => 1000,
};
var loseObservers = new Option<bool>("--lose-observers")
{
    Description = "Deactivate the directory grain before each apply (observers are lost, as when it moves): measures the poll fallback.",
};
var basePort = new Option<int>("--base-port") { Description = "First port the mappings use (one per two applies), on 127.0.0.1-3.", DefaultValueFactory = _ => 21000 };

var root = new RootCommand("Propagation latency: from an accepted apply until every edge's ProxyServer routes the change.")
{
    silos, storage, applies, warmup, all, connection, pollMs, loseObservers, basePort,
};
root.SetAction(async (result, cancellationToken) =>
{
    if (result.GetValue(applies) < 1 || result.GetValue(warmup) < 0 || result.GetValue(pollMs) < 1)
    {
        Console.Error.WriteLine("--applies and --poll-ms must be at least 1, --warmup at least 0.");
        return 2;
    }

    BenchConfiguration Configuration(int siloCount, string storageName) => new(
        siloCount,
        storageName == "azure" ? BenchStorage.Azure : BenchStorage.Memory,
        result.GetValue(applies),
        result.GetValue(warmup),
        result.GetValue(connection)!,
        TimeSpan.FromMilliseconds(result.GetValue(pollMs)),
        result.GetValue(basePort),
        result.GetValue(loseObservers));

    var configurations = result.GetValue(all)
        ? [Configuration(1, "memory"), Configuration(3, "memory"), Configuration(1, "azure"), Configuration(3, "azure")]
        : new[] { Configuration(result.GetValue(silos), result.GetValue(storage)!) };

    var runs = new List<(BenchConfiguration, IReadOnlyList<Sample>)>();
    try
    {
        foreach (var configuration in configurations)
        {
            runs.Add((configuration, await PropagationRun.RunAsync(configuration, Console.Error, cancellationToken)));
        }
    }
    catch (Exception e) when (e is InvalidOperationException or TimeoutException)
    {
        Console.Error.WriteLine($"propagation benchmark failed: {e.Message}");
        return 1;
    }

    Console.WriteLine(Report.Table(runs));
    return 0;
});
return await root.Parse(args).InvokeAsync();
