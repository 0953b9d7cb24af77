using System.Collections.Immutable;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains.Access;

/// <summary>One stored key: the SHA-256 of its secret, never the secret.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.StoredKey")]
public sealed record StoredKey(
    [property: Id(0)] AccessKey Key,
    [property: Id(1)] byte[] SecretHash);

[GenerateSerializer, Alias("OrleansGateway.TenantKeysState")]
public sealed class TenantKeysState
{
    [Id(0)] public ImmutableArray<StoredKey> Keys { get; set; } = [];
}

/// <summary>See <see cref="ITenantKeysGrain"/>.</summary>
public sealed partial class TenantKeysGrain(
    [PersistentState("keys", GatewayStorage.Name)] IPersistentState<TenantKeysState> state,
    ILogger<TenantKeysGrain> logger) : Grain, ITenantKeysGrain
{
    /// <summary>256 bits, as docs/api.md promises.</summary>
    private const int SecretBytes = 32;

    private string Tenant => this.GetPrimaryKeyString();

    private TimeProvider Time => ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

    public async Task<IssuedKey> IssueAsync(string? description)
    {
        string id;
        do
        {
            id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        }
        while (state.State.Keys.Any(k => k.Key.Id == id));

        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        var key = new AccessKey(id, string.IsNullOrWhiteSpace(description) ? null : description.Trim(), Time.GetUtcNow());
        await WriteAsync(state.State.Keys.Add(new StoredKey(key, SHA256.HashData(secret))));
        LogIssued(logger, Tenant, id);
        return new IssuedKey(key, ApiToken.Format(Tenant, id, secret));
    }

    public Task<ImmutableArray<AccessKey>> ListAsync() =>
        Task.FromResult<ImmutableArray<AccessKey>>([.. state.State.Keys.Select(k => k.Key).OrderBy(k => k.CreatedAt)]);

    public async Task<bool> RevokeAsync(string keyId)
    {
        var stored = state.State.Keys.FirstOrDefault(k => k.Key.Id == keyId);
        if (stored is null)
        {
            return false;
        }

        await WriteAsync(state.State.Keys.Remove(stored));
        LogRevoked(logger, Tenant, keyId);
        return true;
    }

    public Task<bool> VerifyAsync(string keyId, byte[] secretHash)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        var stored = state.State.Keys.FirstOrDefault(k => string.Equals(k.Key.Id, keyId, StringComparison.Ordinal));

        // The id is public (it is listed); only the hash comparison must not leak timing.
        return Task.FromResult(stored is not null && CryptographicOperations.FixedTimeEquals(stored.SecretHash, secretHash));
    }

    public async Task RemoveAllAsync()
    {
        var count = state.State.Keys.Length;
        await state.ClearStateAsync();
        state.State.Keys = [];
        LogRemovedAll(logger, Tenant, count);
    }

    /// <summary>
    /// Stores <paramref name="keys"/>; on a failed write the activation keeps the stored keys, so a failed revoke
    /// still finds its key on retry and a failed issue leaves no key that was never stored.
    /// </summary>
    private async Task WriteAsync(ImmutableArray<StoredKey> keys)
    {
        var previous = state.State.Keys;
        state.State.Keys = keys;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Keys = previous;
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: key {KeyId} issued")]
    private static partial void LogIssued(ILogger logger, string tenant, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: key {KeyId} revoked")]
    private static partial void LogRevoked(ILogger logger, string tenant, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: {Count} key(s) removed")]
    private static partial void LogRemovedAll(ILogger logger, string tenant, int count);
}
