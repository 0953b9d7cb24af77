namespace OrleansGateway.Bench.Propagation;

internal enum BenchStorage
{
    Memory,
    Azure,
}

/// <param name="Warmup">Applies made first and not measured (JIT, first activations of the tenant and directory grains).</param>
/// <param name="BasePort">The mappings use ports from here upwards, one per two applies.</param>
internal sealed record BenchConfiguration(
    int Silos,
    BenchStorage Storage,
    int Applies,
    int Warmup,
    string ConnectionString,
    TimeSpan PollInterval,
    int BasePort)
{
    public string StorageName => Storage == BenchStorage.Azure ? "Azure Table (Azurite)" : "memory";
}
