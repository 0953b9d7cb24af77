namespace OrleansGateway.Bench.Propagation;

internal enum BenchStorage
{
    Memory,
    Azure,
}

/// <param name="Warmup">Applies made first and not measured (JIT, first activations of the tenant and directory grains).</param>
/// <param name="BasePort">The mappings use ports from here upwards, one per two applies.</param>
/// <param name="LoseObservers">Deactivate the directory grain before each apply: its observers die with the activation
/// (as when it moves), so the edges learn the change from their poll alone.</param>
internal sealed record BenchConfiguration(
    int Silos,
    BenchStorage Storage,
    int Applies,
    int Warmup,
    string ConnectionString,
    TimeSpan PollInterval,
    int BasePort,
    bool LoseObservers = false)
{
    public string StorageName => Storage == BenchStorage.Azure ? "Azure Table (Azurite)" : "memory";

    /// <summary>How the edges learn a change in this run, for the report.</summary>
    public string Delivery => LoseObservers ? $"poll only ({PollInterval.TotalMilliseconds:0} ms)"
        : PollInterval >= TimeSpan.FromMinutes(1) ? "push only" : $"push + poll ({PollInterval.TotalMilliseconds:0} ms)";
}
