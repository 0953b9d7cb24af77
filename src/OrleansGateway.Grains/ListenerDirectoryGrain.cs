using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Orleans.Utilities;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

/// <summary>
/// The directory's index (state <c>directory</c>): its version and every listener with routes. Tenants' entries live in
/// <see cref="DirectoryShardState"/>s; <see cref="Certificates"/>, <see cref="ConnectionLimits"/> and
/// <see cref="AllowedUpstreams"/> are what builds before the shards stored inline, moved to the shards on activation.
/// </summary>
[GenerateSerializer, Alias("OrleansGateway.DirectoryState")]
public sealed class DirectoryState
{
    [Id(0)] public long Version { get; set; }

    /// <summary>Listener key → slice version, for listeners that have routes.</summary>
    [Id(1)] public Dictionary<string, long> Listeners { get; set; } = [];

    /// <summary>Certificate key → material version (stored inline by earlier builds only).</summary>
    [Id(2)] public Dictionary<string, string> Certificates { get; set; } = [];

    /// <summary>Tenant → concurrent-connection limit per edge (stored inline by earlier builds only).</summary>
    [Id(3)] public Dictionary<string, int> ConnectionLimits { get; set; } = [];

    /// <summary>Tenant → canonical AllowedUpstreams entries (stored inline by earlier builds only).</summary>
    [Id(4)] public Dictionary<string, ImmutableArray<string>> AllowedUpstreams { get; set; } = [];
}

/// <summary>
/// One shard of the directory's tenants (state <see cref="ListenerDirectoryGrain.ShardStateName"/>, key
/// <c>&lt;ambassador id&gt;/&lt;shard&gt;</c>): a tenant's publish writes its shard only, about 1/<see cref="ListenerDirectoryGrain.Shards"/>
/// of the tenants. <see cref="Version"/> is the directory version of the shard's last write, so the directory's version
/// never goes back when it is read again.
/// </summary>
[GenerateSerializer, Alias("OrleansGateway.DirectoryShardState")]
public sealed class DirectoryShardState
{
    [Id(0)] public long Version { get; set; }

    /// <summary>Tenant → its entry (tenants with nothing are absent).</summary>
    [Id(1)] public Dictionary<string, DirectoryTenantEntry> Tenants { get; set; } = [];
}

/// <summary>What the directory stores for one tenant (see <see cref="DirectoryTenant"/>, its form on the wire).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DirectoryTenantEntry")]
public sealed record DirectoryTenantEntry(
    [property: Id(0)] ImmutableDictionary<string, string> Certificates,
    [property: Id(1)] int? ConnectionLimit,
    [property: Id(2)] ImmutableArray<string>? AllowedUpstreams)
{
    public static readonly DirectoryTenantEntry Empty = new(ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal), null, null);

    public bool IsEmpty => Certificates.IsEmpty && ConnectionLimit is null && AllowedUpstreams is null;

    public DirectoryTenant ToWire(string tenant) => new(
        tenant,
        [.. Certificates.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new DirectoryCertificate(CertificateKey.Parse(c.Key), c.Value))],
        ConnectionLimit,
        AllowedUpstreams);
}

/// <summary>
/// See <see cref="IListenerDirectoryGrain"/>. Persisted, so a reactivated directory still lists every listener
/// (an empty directory would make edges unbind everything). Observers are not persisted: they are lost when the
/// grain moves, which is why edges also poll.
/// </summary>
/// <remarks>
/// Storage is proportional to the change (docs/control-plane.md, "Directory storage: tenants in shards"): the index
/// holds the listeners, and each tenant's certificates, connection limit and allowed upstreams live in one of
/// <see cref="Shards"/> shard states; a tenant's publish writes its shard. On activation the index and every shard
/// are read at once. Edges ask <see cref="GetChangesAsync"/> for what changed after their version: this activation
/// remembers the version each listener and tenant last changed at (removed ones too), and a new activation (another
/// <see cref="DirectoryChanges.Epoch"/>) answers everything.
/// </remarks>
public sealed partial class ListenerDirectoryGrain(
    [PersistentState("directory", GatewayStorage.Name)] IPersistentState<DirectoryState> state,
    ILogger<ListenerDirectoryGrain> logger) : Grain, IListenerDirectoryGrain
{
    /// <summary>Edges renew their subscription well within this (see EdgeRouteCache).</summary>
    public static readonly TimeSpan SubscriptionExpiry = TimeSpan.FromMinutes(2);

    /// <summary>The storage state name of the tenant shards.</summary>
    public const string ShardStateName = "directory-shard";

    /// <summary>How many shards the tenants are spread over. Part of the stored format: never change it.</summary>
    public const int Shards = 64;

    private readonly ObserverManager<IRouteObserver> _observers = new(SubscriptionExpiry, logger);

    private readonly GrainState<DirectoryShardState>[] _shards = new GrainState<DirectoryShardState>[Shards];

    /// <summary>The directory version each tenant's entry last changed at in this activation (removed tenants too).</summary>
    private readonly Dictionary<string, long> _tenantChanged = new(StringComparer.Ordinal);

    /// <summary>The directory version each listener last changed at in this activation (removed listeners too).</summary>
    private readonly Dictionary<string, long> _listenerChanged = new(StringComparer.Ordinal);

    private readonly Guid _epoch = Guid.NewGuid();
    private long _version;

    private IGrainStorage Storage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GatewayStorage.Name);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var shards = await Task.WhenAll(Enumerable.Range(0, Shards).Select(async i =>
        {
            var shard = new GrainState<DirectoryShardState>(new DirectoryShardState());
            await Storage.ReadStateAsync(ShardStateName, ShardId(i), shard);
            shard.State ??= new DirectoryShardState();
            return shard;
        }));
        shards.CopyTo(_shards, 0);
        _version = Math.Max(state.State.Version, Enumerable.Range(0, Shards).Max(i => Shard(i).Version));
        await MoveInlineTenantsAsync();
    }

    /// <summary>
    /// A directory stored by a build before the shards holds every tenant's certificates, limit and upstreams inline:
    /// each goes to its shard (shards first, so a failure leaves the index as it was and the next activation retries),
    /// then the index forgets them.
    /// </summary>
    private async Task MoveInlineTenantsAsync()
    {
        var index = state.State;
        if (index.Certificates.Count == 0 && index.ConnectionLimits.Count == 0 && index.AllowedUpstreams.Count == 0)
        {
            return;
        }

        var tenants = index.Certificates.Keys.Select(k => CertificateKey.Parse(k).Tenant)
            .Concat(index.ConnectionLimits.Keys).Concat(index.AllowedUpstreams.Keys).Distinct(StringComparer.Ordinal);
        foreach (var tenant in tenants)
        {
            var certificates = index.Certificates.Where(c => CertificateKey.Parse(c.Key).Tenant == tenant);
            Shard(ShardOf(tenant)).Tenants[tenant] = new DirectoryTenantEntry(
                certificates.ToImmutableDictionary(StringComparer.Ordinal),
                index.ConnectionLimits.TryGetValue(tenant, out var limit) ? limit : null,
                index.AllowedUpstreams.TryGetValue(tenant, out var allowed) ? allowed : null);
        }

        foreach (var shard in Enumerable.Range(0, Shards).Where(i => Shard(i).Tenants.Count > 0))
        {
            Shard(shard).Version = _version;
            await Storage.WriteStateAsync(ShardStateName, ShardId(shard), _shards[shard]);
        }

        index.Certificates = [];
        index.ConnectionLimits = [];
        index.AllowedUpstreams = [];
        index.Version = _version;
        await state.WriteStateAsync();
    }

    public Task<DirectoryView> GetAsync()
    {
        var tenants = AllTenants().ToList();
        return Task.FromResult(new DirectoryView(
            _version,
            [.. state.State.Listeners.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new DirectoryListener(ListenerKey.Parse(l.Key), l.Value))],
            [.. tenants.SelectMany(t => t.Value.Certificates).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new DirectoryCertificate(CertificateKey.Parse(c.Key), c.Value))])
        {
            ConnectionLimits = tenants.Where(t => t.Value.ConnectionLimit is not null)
                .ToImmutableDictionary(t => t.Key, t => t.Value.ConnectionLimit!.Value, StringComparer.Ordinal),
            AllowedUpstreams = tenants.Where(t => t.Value.AllowedUpstreams is not null)
                .ToImmutableDictionary(t => t.Key, t => t.Value.AllowedUpstreams!.Value, StringComparer.Ordinal),
        });
    }

    public Task<DirectoryChanges> GetChangesAsync(Guid epoch, long sinceVersion)
    {
        var listeners = state.State.Listeners;
        if (epoch != _epoch || sinceVersion > _version)
        {
            return Task.FromResult(new DirectoryChanges(
                _epoch,
                _version,
                Full: true,
                [.. listeners.Select(l => new DirectoryListener(ListenerKey.Parse(l.Key), l.Value))],
                [],
                [.. AllTenants().Select(t => t.Value.ToWire(t.Key))]));
        }

        // Only what this activation changed after the edge's version; one pass over two dictionaries of longs.
        var changedListeners = _listenerChanged.Where(l => l.Value > sinceVersion).Select(l => l.Key).ToList();
        return Task.FromResult(new DirectoryChanges(
            _epoch,
            _version,
            Full: false,
            [.. changedListeners.Where(listeners.ContainsKey).Select(k => new DirectoryListener(ListenerKey.Parse(k), listeners[k]))],
            [.. changedListeners.Where(k => !listeners.ContainsKey(k)).Select(ListenerKey.Parse)],
            [.. _tenantChanged.Where(t => t.Value > sinceVersion).Select(t => Entry(t.Key).ToWire(t.Key))]));
    }

    public Task<long> GetVersionAsync() => Task.FromResult(_version);

    public async Task PublishListenerAsync(ListenerKey key, long version, bool hasRoutes)
    {
        ArgumentNullException.ThrowIfNull(key);
        var listeners = state.State.Listeners;
        var known = listeners.TryGetValue(key.Value, out var v) ? v : (long?)null;
        if (hasRoutes ? known == version : known is null)
        {
            return;
        }

        var next = _version + 1;
        var previousVersion = state.State.Version;
        if (hasRoutes)
        {
            listeners[key.Value] = version;
        }
        else
        {
            listeners.Remove(key.Value);
        }

        state.State.Version = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Back to what storage holds: an edge must never be told of a change that is not stored.
            if (known is { } before)
            {
                listeners[key.Value] = before;
            }
            else
            {
                listeners.Remove(key.Value);
            }

            state.State.Version = previousVersion;
            throw;
        }

        _listenerChanged[key.Value] = next;
        await ChangedAsync(next);
    }

    public Task PublishCertificateAsync(SecretRef secret, string? version)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var key = CertificateKey.For(secret);
        var entry = Entry(secret.Tenant);
        var known = entry.Certificates.TryGetValue(key, out var v) ? v : null;
        return known == version
            ? Task.CompletedTask
            : CommitTenantAsync(secret.Tenant, entry with
            {
                Certificates = version is null ? entry.Certificates.Remove(key) : entry.Certificates.SetItem(key, version),
            });
    }

    public Task PublishConnectionLimitAsync(string tenant, int? limit)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        if (limit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"the connection limit of tenant '{tenant}' must be >= 0, or null for unlimited.");
        }

        var entry = Entry(tenant);
        return entry.ConnectionLimit == limit ? Task.CompletedTask : CommitTenantAsync(tenant, entry with { ConnectionLimit = limit });
    }

    public Task PublishAllowedUpstreamsAsync(string tenant, ImmutableArray<string>? allowed)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        var entry = Entry(tenant);
        var same = entry.AllowedUpstreams is { } known
            ? allowed is { } entries && known.SequenceEqual(entries)
            : allowed is null;
        return same ? Task.CompletedTask : CommitTenantAsync(tenant, entry with { AllowedUpstreams = allowed });
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

    private DirectoryTenantEntry Entry(string tenant) =>
        Shard(ShardOf(tenant)).Tenants.GetValueOrDefault(tenant) ?? DirectoryTenantEntry.Empty;

    /// <summary>A shard's state (never null: set on activation).</summary>
    private DirectoryShardState Shard(int shard) => _shards[shard].State!;

    private IEnumerable<KeyValuePair<string, DirectoryTenantEntry>> AllTenants() => _shards.SelectMany(s => s.State!.Tenants);

    /// <summary>Writes the tenant's shard with its new entry (removed when empty); a failed write leaves memory as storage is.</summary>
    private async Task CommitTenantAsync(string tenant, DirectoryTenantEntry entry)
    {
        var shard = Shard(ShardOf(tenant));
        var previous = shard.Tenants.GetValueOrDefault(tenant);
        var previousVersion = shard.Version;
        var next = _version + 1;
        if (entry.IsEmpty)
        {
            shard.Tenants.Remove(tenant);
        }
        else
        {
            shard.Tenants[tenant] = entry;
        }

        shard.Version = next;
        try
        {
            await Storage.WriteStateAsync(ShardStateName, ShardId(ShardOf(tenant)), _shards[ShardOf(tenant)]);
        }
        catch
        {
            if (previous is null)
            {
                shard.Tenants.Remove(tenant);
            }
            else
            {
                shard.Tenants[tenant] = previous;
            }

            shard.Version = previousVersion;
            throw;
        }

        _tenantChanged[tenant] = next;
        await ChangedAsync(next);
    }

    private async Task ChangedAsync(long version)
    {
        _version = version;
        LogChanged(logger, this.GetPrimaryKeyString(), version, _observers.Count);

        // One-way calls: a slow or dead edge does not hold up the tenant's apply; it catches up by polling.
        await _observers.Notify(o => o.DirectoryChangedAsync(version));
    }

    private GrainId ShardId(int shard) => GrainId.Create("ogw-directory-shard", $"{this.GetPrimaryKeyString()}/{shard}");

    /// <summary>A tenant's shard: FNV-1a of its name, stable across processes and builds (string.GetHashCode is not).</summary>
    internal static int ShardOf(string tenant)
    {
        var hash = 2166136261u;
        foreach (var c in tenant)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Shards);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Directory {AmbassadorId} is at version {Version}; notifying {Observers} edge(s)")]
    private static partial void LogChanged(ILogger logger, string ambassadorId, long version, int observers);
}
