using System.Collections.Immutable;
using System.Text.Json;
using System.Threading.Channels;
using k8s;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;
using OrleansGateway.Sources.Kubernetes.Status;
using OrleansGateway.Sources.Kubernetes.Watching;

namespace OrleansGateway.Sources.Kubernetes.Source;

/// <summary>
/// One term as the writer of the Kubernetes source: the watches, and the loop that applies what changed
/// (docs/kubernetes.md, "What an event costs"). A watch event marks the namespace it happened in; a pass (after a
/// change, debounced, so a burst is one pass; or every second) reads those namespaces again, re-evaluates only the
/// tenants they belonged to before and belong to now, applies those whose content changed (tenants losing namespaces
/// first), and writes the statuses of those tenants back. Also, every second while something waits (a labelled tenant
/// that does not exist yet, an apply that failed) it is tried again, and the tenants' statuses are re-read a few at a
/// time (arbitration with other tenants and quotas change them too).
/// </summary>
internal sealed partial class SourceSession
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(50);

    /// <summary>Every applied tenant's statuses are re-read within this long ...</summary>
    private static readonly TimeSpan StatusRefresh = TimeSpan.FromSeconds(5);

    /// <summary>... but no more than this many tenants a second (a larger installation's round takes longer).</summary>
    private const double MaxRefreshesPerSecond = 50;

    /// <summary>How often the tenant registry is read to notice a labelled tenant deleted (or deleted and created again) by an admin.</summary>
    private static readonly TimeSpan RegistryCheck = TimeSpan.FromSeconds(5);

    private readonly KubernetesOptions _options;
    private readonly IKubernetes _client;
    private readonly IGrainFactory _grains;
    private readonly KubernetesHealth _health;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TenantSource _source;
    private readonly TenantMapping _mapping;
    private readonly StatusWriter _statuses;
    private readonly StatusChanges _reported = new();

    private readonly ObjectCache _namespaces = new();

    /// <summary>
    /// One cache per kind and watched scope (all namespaces, or each --kubernetes-namespace): a list replaces the whole
    /// content of its cache, so two namespaces never share one.
    /// </summary>
    private readonly List<(WatchedKind Kind, string? Scope, ObjectCache Cache)> _caches = [];

    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>What the watches reported since the last pass (written by the watches, taken by the loop under the lock).</summary>
    private readonly Lock _lock = new();
    private HashSet<string> _dirty = new(StringComparer.Ordinal);
    private List<(WatchedKind Kind, KubeObject Object)> _deleted = [];

    /// <summary>Tenants to look at again on the next pass: touched by a change, waiting for their tenant, or whose apply failed.</summary>
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);

    /// <summary>Each tenant's content as last evaluated (present while it has resources).</summary>
    private readonly Dictionary<string, TenantContent> _contents = new(StringComparer.Ordinal);

    /// <summary>Labelled tenants that do not exist (yet), with the refusals their resources get meanwhile.</summary>
    private readonly Dictionary<string, ImmutableArray<Refusal>> _waiting = new(StringComparer.Ordinal);

    /// <summary>What each tenant was last given (or found holding) and its statuses since.</summary>
    private readonly Dictionary<string, Applied> _applied = new(StringComparer.Ordinal);

    /// <summary>The applied tenants whose statuses are re-read next, in turn.</summary>
    private readonly Queue<string> _refreshTurn = new();
    private double _refreshCredit;
    private long _lastRefresh;
    private long _lastRegistryCheck;

    public SourceSession(KubernetesOptions options, IKubernetes client, IGrainFactory grains, KubernetesHealth health, TimeProvider time, string holder, ILoggerFactory loggers)
    {
        _options = options;
        _client = client;
        _grains = grains;
        _health = health;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<KubernetesSource>();
        _source = new TenantSource(grains, KubernetesSource.Name, options.AmbassadorId);
        _mapping = new TenantMapping(options);
        _statuses = new StatusWriter(client, health, time, holder, _logger);
        foreach (var scope in Scopes())
        {
            // Only Secrets that can hold TLS material are kept: never a database password in the gateway's memory.
            _caches.Add((WatchedKind.Secrets, scope, new ObjectCache(IsTlsMaterial)));
            _caches.AddRange(WatchedKind.Ambassador.Select(kind => (kind, scope, new ObjectCache())));
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var watches = StartWatches(cancellationToken);
        try
        {
            while (!_namespaces.Synced || !_caches.All(c => c.Cache.Synced))
            {
                await WaitAsync(cancellationToken);
            }

            // A new term reads everything once; from then on only what changes.
            lock (_lock)
            {
                _dirty.UnionWith(_namespaces.Items().Select(n => n.Name));
                _dirty.UnionWith(_caches.SelectMany(c => c.Cache.Namespaces()));
            }

            _lastRefresh = _lastRegistryCheck = _time.GetTimestamp();
            var everything = Evaluate(TakeChanges());
            LogSynced(_logger, _mapping.Count, _mapping.TenantsWithResources.Count());
            await WithdrawStaleAsync(cancellationToken);
            await PassAsync(everything, cancellationToken);
            while (true)
            {
                await WaitAsync(cancellationToken);
                await PassAsync([], cancellationToken);
            }
        }
        finally
        {
            await Task.WhenAll(watches);
        }
    }

    private List<Task> StartWatches(CancellationToken cancellationToken)
    {
        var watchLogger = _loggers.CreateLogger<ListWatch>();

        // Namespaces are cluster-scoped: their labels name the tenants, whichever namespaces are watched.
        List<ListWatch> watches = [new(_client, WatchedKind.Namespaces, null, _namespaces, c => Changed(WatchedKind.Namespaces, c), _health, _time, watchLogger)];
        watches.AddRange(_caches.Select(c => new ListWatch(_client, c.Kind, c.Scope, c.Cache, changes => Changed(c.Kind, changes), _health, _time, watchLogger)));
        return [.. watches.Select(w => Task.Run(() => w.RunAsync(cancellationToken), CancellationToken.None))];
    }

    /// <summary>A watch's changes: each marks the namespace it happened in (a Namespace object: itself).</summary>
    private void Changed(WatchedKind kind, IReadOnlyList<ObjectChange> changes)
    {
        lock (_lock)
        {
            foreach (var change in changes)
            {
                _dirty.Add(kind == WatchedKind.Namespaces ? change.Name : change.Namespace);
                if (change is { Before: { } gone, After: null } && kind != WatchedKind.Namespaces)
                {
                    _deleted.Add((kind, gone));
                }
            }
        }

        _changes.Writer.TryWrite(true);
    }

    private (HashSet<string> Namespaces, List<(WatchedKind Kind, KubeObject Object)> Deleted) TakeChanges()
    {
        lock (_lock)
        {
            var taken = (_dirty, _deleted);
            _dirty = new HashSet<string>(StringComparer.Ordinal);
            _deleted = [];
            return taken;
        }
    }

    /// <summary>Reads the changed namespaces again; the tenants they belonged to or belong to now become pending.</summary>
    private HashSet<string> Evaluate((HashSet<string> Namespaces, List<(WatchedKind Kind, KubeObject Object)> Deleted) changes)
    {
        foreach (var ns in changes.Namespaces)
        {
            _pending.UnionWith(_mapping.Update(ns, _namespaces.Get("", ns), ObjectsIn(ns)));
        }

        // What was written for a deleted object is forgotten (the key carries its uid: a new object of the name is another).
        foreach (var (kind, gone) in changes.Deleted)
        {
            _statuses.Forget(kind, gone);
        }

        return changes.Namespaces;
    }

    private IEnumerable<(WatchedKind Kind, KubeObject Object)> ObjectsIn(string ns) => _caches
        .Where(c => c.Kind.IsAmbassador && (c.Scope is null || c.Scope == ns))
        .SelectMany(c => c.Cache.Items(ns).Select(o => (c.Kind, o)));

    private IEnumerable<KubeObject> SecretsIn(string ns) => _caches
        .Where(c => c.Kind == WatchedKind.Secrets && (c.Scope is null || c.Scope == ns))
        .SelectMany(c => c.Cache.Items(ns));

    /// <summary>One pass: re-evaluate what changed, apply it (tenants that lose namespaces first), write its statuses back.</summary>
    /// <param name="read">Namespaces read before the pass (the first pass of a term: all of them), whose refusals it writes too.</param>
    private async Task PassAsync(IEnumerable<string> read, CancellationToken cancellationToken)
    {
        var namespaces = Evaluate(TakeChanges());
        namespaces.UnionWith(read);
        var written = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await CheckRegistryAsync(namespaces);
            _pending.UnionWith(_waiting.Keys);
            var next = new Dictionary<string, TenantContent?>(StringComparer.Ordinal);
            var created = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
            foreach (var tenant in _pending)
            {
                next[tenant] = _mapping.Content(tenant, SecretsIn);
            }

            if (next.Count > 0)
            {
                _health.Evaluated(next.Count);
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    LogEvaluated(_logger, next.Count, namespaces.Count, string.Join(", ", next.Keys.Order(StringComparer.Ordinal).Take(10)) + (next.Count > 10 ? ", …" : ""));
                }
            }

            foreach (var (tenant, content) in next)
            {
                if (content is null)
                {
                    _contents.Remove(tenant);
                    _waiting.Remove(tenant);
                    continue;
                }

                _contents[tenant] = content;
                var entry = content.Labelled ? await _grains.GetTenantRegistry().GetAsync(tenant) : null;
                if (content.Labelled && entry is null)
                {
                    // Served as soon as an admin creates the tenant: the next pass (within a second) sees it.
                    _waiting[tenant] = [.. content.Resources.Select(r => new Refusal(r, $"tenant '{tenant}' (the label {KubernetesOptions.TenantLabel} of namespace " +
                        $"{r.Object.Namespace}) does not exist; an admin creates it (ogw tenants create {tenant}) and these resources are applied at once"))];

                    // An admin deleted it, resources included: nothing to withdraw, and no apply may bring it back.
                    _applied.Remove(tenant);
                    written.Add(tenant);
                    continue;
                }

                _waiting.Remove(tenant);
                created[tenant] = entry?.CreatedAt;
            }

            var ready = next.Where(p => !_waiting.ContainsKey(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            var losing = ready.Where(p => _applied.TryGetValue(p.Key, out var last) && (p.Value is null || !last.Namespaces.IsSubsetOf(p.Value.Namespaces)))
                .Select(p => p.Key).ToList();
            foreach (var tenant in losing.Concat(ready.Keys.Except(losing, StringComparer.Ordinal)))
            {
                if (await ApplyAsync(tenant, ready[tenant], created.GetValueOrDefault(tenant)))
                {
                    written.Add(tenant);
                }

                _pending.Remove(tenant);
            }

            await RefreshStatusesAsync(written);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The cluster is unreachable or a grain failed: what is stored stays served; the tenants not applied stay
            // pending, and the next pass (within a second) tries them again.
            LogPassFailed(_logger, e);
        }

        try
        {
            await WriteStatusesAsync(written, namespaces, cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            LogPassFailed(_logger, e);
        }
    }

    /// <summary>
    /// Every few seconds: a labelled tenant an admin deleted (or deleted and created again) since it was applied is
    /// looked at again, so that the source neither keeps writing statuses for a tenant that is gone nor leaves a new
    /// tenant of the name without its resources.
    /// </summary>
    private async Task CheckRegistryAsync(HashSet<string> namespaces)
    {
        if (_time.GetElapsedTime(_lastRegistryCheck) < RegistryCheck)
        {
            return;
        }

        // The refusals of namespaces are written again too: a patch that failed is retried.
        namespaces.UnionWith(_mapping.Refusing);
        _lastRegistryCheck = _time.GetTimestamp();
        if (!_applied.Values.Any(a => a.CreatedAt is not null))
        {
            return;
        }

        var exist = (await _grains.GetTenantRegistry().ListAsync()).ToDictionary(e => e.Name, e => e.CreatedAt, StringComparer.Ordinal);
        foreach (var (tenant, applied) in _applied.Where(p => p.Value.CreatedAt is not null).ToList())
        {
            if (!exist.TryGetValue(tenant, out var created) || created != applied.CreatedAt)
            {
                _applied.Remove(tenant);
                _pending.Add(tenant);
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="content"/> the tenant's content from this source (null: withdraws it), unless it already
    /// is. Whether its statuses may have changed.
    /// </summary>
    private async Task<bool> ApplyAsync(string tenant, TenantContent? content, DateTimeOffset? createdAt)
    {
        if (content is null)
        {
            if (_applied.Remove(tenant))
            {
                var withdrawn = await _source.WithdrawAsync(tenant);
                LogWithdrawn(_logger, tenant, withdrawn.Version);
            }

            _reported.Update(tenant, []);
            return false;
        }

        if (_applied.TryGetValue(tenant, out var last) && last.Fingerprint == content.Fingerprint)
        {
            return false;
        }

        if (last is null)
        {
            // First pass of this term: the grain may hold exactly this already (a previous writer applied it).
            var view = await _source.GetAsync(tenant);
            if (Holds(view, content))
            {
                _applied[tenant] = new Applied(content.Fingerprint, content.Namespaces, createdAt, [.. view.Resources.Select(r => r.Status)]);
                return true;
            }
        }

        var outcome = await _source.ApplyAsync(tenant, content.All);
        _applied[tenant] = new Applied(content.Fingerprint, content.Namespaces, createdAt, outcome.Statuses);
        _health.Applied();
        var statuses = outcome.Statuses;
        LogApplied(
            _logger,
            tenant,
            outcome.Version,
            statuses.Count(s => s.State == ResourceState.Accepted),
            statuses.Count(s => s.State == ResourceState.Discarded),
            statuses.Count(s => s.State == ResourceState.Ignored));
        return true;
    }

    /// <summary>
    /// Re-reads the statuses of a few applied tenants, in turn (arbitration with other tenants and quota changes move
    /// them too): every tenant within <see cref="StatusRefresh"/>, at most <see cref="MaxRefreshesPerSecond"/> a second.
    /// </summary>
    private async Task RefreshStatusesAsync(HashSet<string> refreshed)
    {
        var now = _time.GetTimestamp();
        var rate = Math.Min(MaxRefreshesPerSecond, _applied.Count / StatusRefresh.TotalSeconds);
        _refreshCredit = Math.Min(_refreshCredit + (_time.GetElapsedTime(_lastRefresh, now).TotalSeconds * rate), _applied.Count);
        _lastRefresh = now;
        while (_refreshCredit >= 1)
        {
            if (_refreshTurn.Count == 0)
            {
                foreach (var tenant in _applied.Keys)
                {
                    _refreshTurn.Enqueue(tenant);
                }
            }

            var next = _refreshTurn.Dequeue();
            if (!_applied.TryGetValue(next, out var applied))
            {
                continue;
            }

            _refreshCredit--;
            var view = await _source.GetAsync(next);
            _applied[next] = applied with { Statuses = [.. view.Resources.Select(r => r.Status)] };
            refreshed.Add(next);
        }
    }

    /// <summary>Writes back the statuses of <paramref name="tenants"/> and the refusals of <paramref name="namespaces"/>, where they changed.</summary>
    private async Task WriteStatusesAsync(HashSet<string> tenants, HashSet<string> namespaces, CancellationToken cancellationToken)
    {
        foreach (var tenant in tenants)
        {
            if (!_contents.TryGetValue(tenant, out var content))
            {
                continue;
            }

            if (_waiting.TryGetValue(tenant, out var refusals))
            {
                await WriteRefusalsAsync(tenant, refusals, cancellationToken);
                continue;
            }

            if (!_applied.TryGetValue(tenant, out var applied))
            {
                continue;
            }

            var statuses = applied.Statuses.GroupBy(s => s.Resource).ToDictionary(g => g.Key, g => g.First());
            foreach (var discarded in _reported.Update(tenant, content.Resources.Select(r => statuses.GetValueOrDefault(r.Resource.Ref)).OfType<ResourceStatus>())
                         .Where(s => s.State == ResourceState.Discarded))
            {
                LogDiscarded(_logger, tenant, discarded.Resource.ToString(), string.Join("; ", discarded.Messages));
            }

            foreach (var resource in content.Resources.Where(Selected))
            {
                if (statuses.TryGetValue(resource.Resource.Ref, out var status) && AcceptedCondition.For(status, resource.Object.Generation) is { } condition)
                {
                    await _statuses.WriteAsync(resource, condition, Latest(resource), cancellationToken);
                }
            }
        }

        foreach (var ns in namespaces)
        {
            // Keyed apart from every tenant: a tenant name has no space.
            await WriteRefusalsAsync($"namespace {ns}", _mapping.Refused(ns), cancellationToken);
        }
    }

    private async Task WriteRefusalsAsync(string key, ImmutableArray<Refusal> refusals, CancellationToken cancellationToken)
    {
        var refused = refusals.Where(r => Selected(r.Resource)).ToList();
        foreach (var discarded in _reported.Update(key, refused.Select(r => new ResourceStatus(r.Resource.Resource.Ref, ResourceState.Discarded, [r.Reason]))))
        {
            LogRefused(_logger, discarded.Resource.ToString(), string.Join("; ", discarded.Messages));
        }

        // A name no API server accepts has no URL to patch or Event to point at: its refusal is logged only.
        foreach (var refusal in refused.Where(r => ResourceNames.IsDnsSubdomain(r.Resource.Object.Name)))
        {
            await _statuses.WriteAsync(refusal.Resource, AcceptedCondition.Discarded(refusal.Reason, refusal.Resource.Object.Generation), Latest(refusal.Resource), cancellationToken);
        }
    }

    /// <summary>Only resources this gateway's ambassador_id selects get a status: another gateway writes its own.</summary>
    private bool Selected(KubeResource resource) => AmbassadorIdFilter.Matches(resource.Resource, _options.AmbassadorId);

    private KubeObject? Latest(KubeResource resource) => _caches
        .Where(c => c.Kind == resource.Kind && (c.Scope is null || c.Scope == resource.Object.Namespace))
        .Select(c => c.Cache.Get(resource.Object.Namespace, resource.Object.Name))
        .FirstOrDefault(o => o is not null);

    /// <summary>
    /// A new term starts where the last one left off: a tenant that holds resources of this source but no longer gets
    /// any (its namespaces were relabelled or deleted while no writer ran) is withdrawn.
    /// </summary>
    private async Task WithdrawStaleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var given = _mapping.TenantsWithResources.ToHashSet(StringComparer.Ordinal);
            foreach (var entry in await _grains.GetTenantRegistry().ListAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!given.Contains(entry.Name) && (await _source.GetAsync(entry.Name)).Resources.Any(r => r.Source == KubernetesSource.Name))
                {
                    var withdrawn = await _source.WithdrawAsync(entry.Name);
                    LogWithdrawn(_logger, entry.Name, withdrawn.Version);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            LogPassFailed(_logger, e);
        }
    }

    /// <summary>Whether the tenant stores exactly <paramref name="content"/> from this source.</summary>
    private static bool Holds(TenantView view, TenantContent content)
    {
        var stored = view.Resources.Where(r => r.Source == KubernetesSource.Name).Select(r => Serialized(r.Resource)).Order(StringComparer.Ordinal);
        return stored.SequenceEqual(content.All.Select(Serialized).Order(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    private static string Serialized(Resource resource) => JsonSerializer.Serialize(resource);

    private static bool IsTlsMaterial(KubeObject secret) =>
        (secret.Json.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "kubernetes.io/tls")
        || (secret.Json.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
            && (data.TryGetProperty("ca.crt", out _) || data.TryGetProperty("tls.crt", out _)));

    private IEnumerable<string?> Scopes() => _options.Namespaces.IsEmpty ? [null] : _options.Namespaces.Select(ns => (string?)ns);

    /// <param name="CreatedAt">When the labelled tenant applied to was created (null: the default tenant): another date means an admin deleted it and created it again.</param>
    private sealed record Applied(string Fingerprint, ImmutableSortedSet<string> Namespaces, DateTimeOffset? CreatedAt, ImmutableArray<ResourceStatus> Statuses);

    /// <summary>Waits for a change (then lets a burst settle) or the next tick.</summary>
    private async Task WaitAsync(CancellationToken cancellationToken)
    {
        using var tick = new CancellationTokenSource(Tick, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tick.Token);
        try
        {
            await _changes.Reader.ReadAsync(either.Token);
            await Task.Delay(Debounce, _time, cancellationToken);
            _changes.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The tick.
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Kubernetes: listed {Resources} resources of {Tenants} tenants; applying what changed, then only what each change touches")]
    private static partial void LogSynced(ILogger logger, int resources, int tenants);

    [LoggerMessage(2, LogLevel.Information,
        "Applied Kubernetes resources to tenant {Tenant} (version {Version}): {Accepted} accepted, {Discarded} discarded, {Ignored} ignored")]
    private static partial void LogApplied(ILogger logger, string tenant, long version, int accepted, int discarded, int ignored);

    [LoggerMessage(3, LogLevel.Information, "Withdrew the Kubernetes resources of tenant {Tenant} (version {Version}): none of its namespaces has resources any more")]
    private static partial void LogWithdrawn(ILogger logger, string tenant, long version);

    [LoggerMessage(4, LogLevel.Warning, "Tenant {Tenant}: {Resource} is Discarded: {Reasons}")]
    private static partial void LogDiscarded(ILogger logger, string tenant, string resource, string reasons);

    [LoggerMessage(5, LogLevel.Warning, "Kubernetes: {Resource} is not applied: {Reasons}")]
    private static partial void LogRefused(ILogger logger, string resource, string reasons);

    [LoggerMessage(7, LogLevel.Debug, "Kubernetes: re-evaluated {Count} tenants ({Namespaces} namespaces changed): {Tenants}")]
    private static partial void LogEvaluated(ILogger logger, int count, int namespaces, string tenants);

    [LoggerMessage(6, LogLevel.Error, "Applying Kubernetes resources to the tenant grains failed; what they hold stays served, the next pass tries again")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
