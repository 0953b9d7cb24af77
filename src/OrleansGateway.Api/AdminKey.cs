namespace OrleansGateway.Api;

/// <summary>
/// The admin key, held only as its SHA-256 so that it cannot be printed: the settings record prints every member,
/// and this prints "(set)". Comparing hashes also makes the comparison constant-time whatever the lengths.
/// </summary>
public sealed class AdminKey
{
    /// <summary>Shorter keys are refused at start: they could be guessed.</summary>
    public const int MinLength = 16;

    private readonly byte[] _hash;

    public AdminKey(string key) => _hash = Hash(key);

    public bool Matches(string candidate) => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(_hash, Hash(candidate));

    public override string ToString() => "(set)";

    private static byte[] Hash(string value) => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value));
}
