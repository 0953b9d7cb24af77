using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Grains.Access;

[GenerateSerializer, Alias("OrleansGateway.TenantRegistryState")]
public sealed class TenantRegistryState
{
    [Id(0)] public ImmutableSortedDictionary<string, DateTimeOffset> Tenants { get; set; } = ImmutableSortedDictionary.Create<string, DateTimeOffset>(StringComparer.Ordinal);
}

/// <summary>See <see cref="ITenantRegistryGrain"/>. Writes only when the list changes, so <see cref="EnsureAsync"/> is cheap.</summary>
public sealed partial class TenantRegistryGrain(
    [PersistentState("tenants", GatewayStorage.Name)] IPersistentState<TenantRegistryState> state,
    ILogger<TenantRegistryGrain> logger) : Grain, ITenantRegistryGrain
{
    private TimeProvider Time => ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

    public async Task<bool> CreateAsync(string tenant)
    {
        TenantKey.For(tenant);
        if (state.State.Tenants.ContainsKey(tenant))
        {
            return false;
        }

        await WriteAsync(state.State.Tenants.Add(tenant, Time.GetUtcNow()));
        LogAdded(logger, tenant);
        return true;
    }

    public Task EnsureAsync(string tenant) => CreateAsync(tenant);

    public Task<TenantEntry?> GetAsync(string tenant) =>
        Task.FromResult(state.State.Tenants.TryGetValue(tenant, out var createdAt) ? new TenantEntry(tenant, createdAt) : null);

    public Task<ImmutableArray<TenantEntry>> ListAsync() =>
        Task.FromResult<ImmutableArray<TenantEntry>>([.. state.State.Tenants.Select(t => new TenantEntry(t.Key, t.Value))]);

    public async Task<bool> RemoveAsync(string tenant)
    {
        if (!state.State.Tenants.ContainsKey(tenant))
        {
            return false;
        }

        await WriteAsync(state.State.Tenants.Remove(tenant));
        LogRemoved(logger, tenant);
        return true;
    }

    /// <summary>Stores <paramref name="tenants"/>; on a failed write the activation keeps the stored list (a retry sees the truth).</summary>
    private async Task WriteAsync(ImmutableSortedDictionary<string, DateTimeOffset> tenants)
    {
        var previous = state.State.Tenants;
        state.State.Tenants = tenants;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Tenants = previous;
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} registered")]
    private static partial void LogAdded(ILogger logger, string tenant);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} removed from the registry")]
    private static partial void LogRemoved(ILogger logger, string tenant);
}
