using System.Collections.Immutable;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>One tenant known to the gateway (created by the API, or registered by its first stored change).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.TenantEntry")]
public sealed record TenantEntry(
    [property: Id(0)] string Name,
    [property: Id(1)] DateTimeOffset CreatedAt);

/// <summary>
/// The list of tenants (one grain, key <see cref="AccessGrains.RegistryKey"/>); persisted. Tenant state lives in the
/// tenant grains: this only says which tenants exist and since when, so that they can be listed.
/// </summary>
[Alias("OrleansGateway.ITenantRegistryGrain")]
public interface ITenantRegistryGrain : IGrainWithStringKey
{
    /// <summary>Adds <paramref name="tenant"/>; false (and no change) when it is already listed.</summary>
    [Alias("Create")]
    Task<bool> CreateAsync(string tenant);

    /// <summary>Adds <paramref name="tenant"/> unless it is listed (what a tenant grain calls after a stored change).</summary>
    [Alias("Ensure")]
    Task EnsureAsync(string tenant);

    /// <summary>Read-only, so concurrent requests interleave instead of queueing on the one registry activation.</summary>
    [Alias("Get"), Orleans.Concurrency.ReadOnly]
    Task<TenantEntry?> GetAsync(string tenant);

    /// <summary>Every tenant, sorted by name (ordinal).</summary>
    [Alias("List")]
    Task<ImmutableArray<TenantEntry>> ListAsync();

    /// <summary>Removes <paramref name="tenant"/>; false when it was not listed.</summary>
    [Alias("Remove")]
    Task<bool> RemoveAsync(string tenant);
}

/// <summary>A tenant API key as listed: never its secret or the secret's hash.</summary>
/// <param name="Id">8 lowercase hex characters, unique within the tenant.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.AccessKey")]
public sealed record AccessKey(
    [property: Id(0)] string Id,
    [property: Id(1)] string? Description,
    [property: Id(2)] DateTimeOffset CreatedAt);

/// <summary>A key just issued: <see cref="Token"/> (<c>ogw.&lt;tenant&gt;.&lt;keyId&gt;.&lt;secret&gt;</c>) exists only in this answer.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.IssuedKey")]
public sealed record IssuedKey(
    [property: Id(0)] AccessKey Key,
    [property: Id(1)] string Token)
{
    /// <summary>Never prints the token (records print every member by default).</summary>
    public override string ToString() => $"IssuedKey {{ Key = {Key}, Token = (hidden) }}";
}

/// <summary>
/// The API keys of one tenant (key: the tenant id); persisted as SHA-256 hashes of the secrets. Every check reads
/// this grain (nothing caches a positive answer), so a revocation is effective on every silo at once.
/// </summary>
[Alias("OrleansGateway.ITenantKeysGrain")]
public interface ITenantKeysGrain : IGrainWithStringKey
{
    /// <summary>Makes a key with a random 256-bit secret and stores only its hash.</summary>
    [Alias("Issue")]
    Task<IssuedKey> IssueAsync(string? description);

    /// <summary>Every key, sorted by creation time.</summary>
    [Alias("List")]
    Task<ImmutableArray<AccessKey>> ListAsync();

    /// <summary>Deletes the key; false when there is none with that id.</summary>
    [Alias("Revoke")]
    Task<bool> RevokeAsync(string keyId);

    /// <summary>Whether <paramref name="secretHash"/> (SHA-256 of the decoded secret) is the hash stored for <paramref name="keyId"/>; constant-time.</summary>
    [Alias("Verify"), Orleans.Concurrency.ReadOnly]
    Task<bool> VerifyAsync(string keyId, byte[] secretHash);

    /// <summary>Deletes every key (the tenant is being deleted).</summary>
    [Alias("RemoveAll")]
    Task RemoveAllAsync();
}

/// <summary>References to the access grains by key, so that callers never build keys themselves.</summary>
public static class AccessGrains
{
    /// <summary>The key of the one <see cref="ITenantRegistryGrain"/>.</summary>
    public const string RegistryKey = "tenants";

    public static ITenantRegistryGrain GetTenantRegistry(this IGrainFactory grains) =>
        grains.GetGrain<ITenantRegistryGrain>(RegistryKey);

    public static ITenantKeysGrain GetTenantKeysGrain(this IGrainFactory grains, string tenant) =>
        grains.GetGrain<ITenantKeysGrain>(TenantKey.For(tenant));
}

/// <summary>
/// Tenant API tokens: <c>ogw.&lt;tenant&gt;.&lt;keyId&gt;.&lt;secret&gt;</c>, the secret 256 random bits in base64url
/// without padding. The only place that writes or reads them.
/// </summary>
public static class ApiToken
{
    public const string Prefix = "ogw.";

    public static string Format(string tenant, string keyId, ReadOnlySpan<byte> secret) =>
        $"{Prefix}{tenant}.{keyId}.{System.Buffers.Text.Base64Url.EncodeToString(secret)}";

    /// <summary>
    /// Reads a token made by <see cref="Format"/>; false for anything else: the tenant must be a DNS label (the API's
    /// tenant name rule), the key id 8 lowercase hex digits and the secret 43 base64url characters (256 bits). Strict
    /// on purpose: a token that passes names a grain that is then asked, so garbage must not get that far.
    /// </summary>
    public static bool TryParse(string token, out string tenant, out string keyId, out byte[] secret)
    {
        tenant = keyId = "";
        secret = [];
        if (!token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 3 || !OrleansGateway.Model.Resources.ResourceNames.IsDnsLabel(parts[0]) || parts[1].Length != 8 || !parts[1].All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'))
            || parts[2].Length != SecretChars || !parts[2].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }

        try
        {
            secret = System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (secret.Length != 32)
        {
            secret = [];
            return false;
        }

        tenant = parts[0];
        keyId = parts[1];
        return true;
    }

    /// <summary>32 bytes in base64url without padding.</summary>
    private const int SecretChars = 43;
}
