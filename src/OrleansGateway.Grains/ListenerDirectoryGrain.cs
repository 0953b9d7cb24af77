using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Orleans.Utilities;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

[GenerateSerializer, Alias("OrleansGateway.DirectoryState")]
public sealed class DirectoryState
{
    [Id(0)] public long Version { get; set; }

    /// <summary>Listener key → slice version, for listeners that have routes.</summary>
    [Id(1)] public Dictionary<string, long> Listeners { get; set; } = [];

    /// <summary>Certificate key → material version.</summary>
    [Id(2)] public Dictionary<string, string> Certificates { get; set; } = [];

    /// <summary>Tenant → concurrent-connection limit per edge (only tenants that have one).</summary>
    [Id(3)] public Dictionary<string, int> ConnectionLimits { get; set; } = [];

    /// <summary>Tenant → canonical entries of its quota's AllowedUpstreams (only tenants that have a restriction).</summary>
    [Id(4)] public Dictionary<string, ImmutableArray<string>> AllowedUpstreams { get; set; } = [];
}

/// <summary>
/// See <see cref="IListenerDirectoryGrain"/>. Persisted, so a reactivated directory still lists every listener
/// (an empty directory would make edges unbind everything). Observers are not persisted: they are lost when the
/// grain moves, which is why edges also poll.
/// </summary>
public sealed partial class ListenerDirectoryGrain(
    [PersistentState("directory", GatewayStorage.Name)] IPersistentState<DirectoryState> state,
    ILogger<ListenerDirectoryGrain> logger) : Grain, IListenerDirectoryGrain
{
    /// <summary>Edges renew their subscription well within this (see EdgeRouteCache).</summary>
    public static readonly TimeSpan SubscriptionExpiry = TimeSpan.FromMinutes(2);

    private readonly ObserverManager<IRouteObserver> _observers = new(SubscriptionExpiry, logger);

    public Task<DirectoryView> GetAsync()
    {
        var s = state.State;
        return Task.FromResult(new DirectoryView(
            s.Version,
            [.. s.Listeners.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new DirectoryListener(ListenerKey.Parse(l.Key), l.Value))],
            [.. s.Certificates.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new DirectoryCertificate(CertificateKey.Parse(c.Key), c.Value))])
        {
            ConnectionLimits = s.ConnectionLimits.ToImmutableDictionary(StringComparer.Ordinal),
            AllowedUpstreams = s.AllowedUpstreams.ToImmutableDictionary(StringComparer.Ordinal),
        });
    }

    public Task PublishListenerAsync(ListenerKey key, long version, bool hasRoutes)
    {
        ArgumentNullException.ThrowIfNull(key);
        var listeners = state.State.Listeners;
        var changed = hasRoutes
            ? !listeners.TryGetValue(key.Value, out var known) || known != version
            : listeners.Remove(key.Value);
        if (hasRoutes)
        {
            listeners[key.Value] = version;
        }

        return changed ? CommitAsync() : Task.CompletedTask;
    }

    public Task PublishCertificateAsync(SecretRef secret, string? version)
    {
        var key = CertificateKey.For(secret);
        var certificates = state.State.Certificates;
        var changed = version is null
            ? certificates.Remove(key)
            : !certificates.TryGetValue(key, out var known) || known != version;
        if (version is not null)
        {
            certificates[key] = version;
        }

        return changed ? CommitAsync() : Task.CompletedTask;
    }

    public Task PublishConnectionLimitAsync(string tenant, int? limit)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        if (limit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"the connection limit of tenant '{tenant}' must be >= 0, or null for unlimited.");
        }

        var limits = state.State.ConnectionLimits;
        var changed = limit is { } value
            ? !limits.TryGetValue(tenant, out var known) || known != value
            : limits.Remove(tenant);
        if (limit is { } set)
        {
            limits[tenant] = set;
        }

        return changed ? CommitAsync() : Task.CompletedTask;
    }

    public Task PublishAllowedUpstreamsAsync(string tenant, ImmutableArray<string>? allowed)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        var all = state.State.AllowedUpstreams;
        var changed = allowed is { } entries
            ? !all.TryGetValue(tenant, out var known) || !known.SequenceEqual(entries)
            : all.Remove(tenant);
        if (allowed is { } set)
        {
            all[tenant] = set;
        }

        return changed ? CommitAsync() : Task.CompletedTask;
    }

    public Task<ImmutableArray<int>> GetListenerPortsAsync() =>
        Task.FromResult(state.State.Listeners.Keys.Select(k => ListenerKey.Parse(k).Endpoint.Port).Distinct().Order().ToImmutableArray());

    public Task SubscribeAsync(IRouteObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IRouteObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    private async Task CommitAsync()
    {
        state.State.Version++;
        await state.WriteStateAsync();
        var version = state.State.Version;
        LogChanged(logger, this.GetPrimaryKeyString(), version, _observers.Count);

        // One-way calls: a slow or dead edge does not hold up the tenant's apply; it catches up by polling.
        await _observers.Notify(o => o.DirectoryChangedAsync(version));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Directory {AmbassadorId} is at version {Version}; notifying {Observers} edge(s)")]
    private static partial void LogChanged(ILogger logger, string ambassadorId, long version, int observers);
}
