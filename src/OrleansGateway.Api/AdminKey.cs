namespace OrleansGateway.Api;

/// <summary>
/// A key the gateway is configured with, held only as its SHA-256 so that it cannot be printed: the settings record
/// prints every member, and this prints "(set)". Comparing hashes also makes the comparison constant-time whatever the
/// lengths.
/// </summary>
public abstract class ConfiguredKey
{
    /// <summary>Shorter keys are refused at start: they could be guessed.</summary>
    public const int MinLength = 16;

    private readonly byte[] _hash;

    protected ConfiguredKey(string key) => _hash = Hash(key);

    public bool Matches(string candidate) => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(_hash, Hash(candidate));

    public override string ToString() => "(set)";

    private static byte[] Hash(string value) => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value));
}

/// <summary>The admin key: every endpoint, every tenant, /dashboard, /status and /metrics.</summary>
public sealed class AdminKey(string key) : ConfiguredKey(key);

/// <summary>The read-only token of /status and /metrics (what Prometheus sends); nothing else.</summary>
public sealed class MetricsToken(string token) : ConfiguredKey(token);
