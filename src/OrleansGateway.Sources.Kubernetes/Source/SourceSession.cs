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
/// One term as the writer of the Kubernetes source: the watches, and the loop that applies what changed. Passes run one
/// at a time on this loop: after a change (debounced), every second while something waits (a labelled tenant that does
/// not exist yet, an apply that failed), and every few seconds to bring the written statuses up to date with the
/// tenant grains (arbitration and quotas change statuses too).
/// </summary>
internal sealed partial class SourceSession
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan StatusRefresh = TimeSpan.FromSeconds(5);

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

    /// <summary>What each tenant was last given (or found holding) and its statuses since.</summary>
    private readonly Dictionary<string, Applied> _applied = new(StringComparer.Ordinal);

    private long _lastStatusRefresh;

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

            var map = Map();
            LogSynced(_logger, map.Tenants.Values.Sum(t => t.Resources.Length) + map.Refused.Length, map.Tenants.Count);
            await WithdrawStaleAsync(map, cancellationToken);
            while (true)
            {
                await PassAsync(map, cancellationToken);
                await WaitAsync(cancellationToken);
                map = Map();
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
        List<ListWatch> watches = [new(_client, WatchedKind.Namespaces, null, _namespaces, Signal, _health, _time, watchLogger)];
        watches.AddRange(_caches.Select(c => new ListWatch(_client, c.Kind, c.Scope, c.Cache, Signal, _health, _time, watchLogger)));
        return [.. watches.Select(w => Task.Run(() => w.RunAsync(cancellationToken), CancellationToken.None))];
    }

    private TenantMap Map() => _mapping.Build(
        _namespaces.Items(),
        _caches.Where(c => c.Kind.IsAmbassador).SelectMany(c => c.Cache.Items().Select(o => (c.Kind, o))),
        [.. _caches.Where(c => c.Kind == WatchedKind.Secrets).SelectMany(c => c.Cache.Items())]);

    /// <summary>One pass: apply what changed (tenants that lose namespaces first), then write the statuses back.</summary>
    private async Task PassAsync(TenantMap map, CancellationToken cancellationToken)
    {
        try
        {
            var existing = await ExistingTenantsAsync(map);
            var refusals = map.Refused.ToList();
            var desired = new Dictionary<string, TenantContent>(StringComparer.Ordinal);
            foreach (var tenant in map.Tenants.Values)
            {
                if (!tenant.Labelled || existing.Contains(tenant.Tenant))
                {
                    desired[tenant.Tenant] = tenant;
                    continue;
                }

                // Served as soon as an admin creates the tenant: the next pass (within a second) sees it.
                refusals.AddRange(tenant.Resources.Select(r => new Refusal(r, $"tenant '{tenant.Tenant}' (the label {KubernetesOptions.TenantLabel} of namespace " +
                    $"{r.Object.Namespace}) does not exist; an admin creates it (ogw tenants create {tenant.Tenant}) and these resources are applied at once")));

                // An admin deleted it, resources included: nothing to withdraw, and no apply may bring it back.
                _applied.Remove(tenant.Tenant);
            }

            var losing = _applied.Where(p => !desired.TryGetValue(p.Key, out var next) || !p.Value.Namespaces.IsSubsetOf(next.Namespaces))
                .Select(p => p.Key).ToList();
            foreach (var tenant in losing.Concat(desired.Keys.Except(losing, StringComparer.Ordinal)))
            {
                await ApplyAsync(tenant, desired.GetValueOrDefault(tenant));
            }

            if (_time.GetElapsedTime(_lastStatusRefresh) >= StatusRefresh)
            {
                await RefreshStatusesAsync();
            }

            await WriteStatusesAsync(desired.Values, refusals, cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The cluster is unreachable or a grain failed: what is stored stays served, and the next pass tries again.
            LogPassFailed(_logger, e);
        }
    }

    /// <summary>The labelled tenants that exist (asked only when some namespace is labelled).</summary>
    private async Task<IReadOnlySet<string>> ExistingTenantsAsync(TenantMap map)
    {
        if (!map.Tenants.Values.Any(t => t.Labelled))
        {
            return new HashSet<string>();
        }

        return (await _grains.GetTenantRegistry().ListAsync()).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Makes <paramref name="content"/> the tenant's content from this source (null: withdraws it), unless it already is.</summary>
    private async Task ApplyAsync(string tenant, TenantContent? content)
    {
        if (content is null)
        {
            var withdrawn = await _source.WithdrawAsync(tenant);
            _applied.Remove(tenant);
            LogWithdrawn(_logger, tenant, withdrawn.Version);
            return;
        }

        if (_applied.TryGetValue(tenant, out var last) && last.Fingerprint == content.Fingerprint)
        {
            return;
        }

        if (last is null)
        {
            // First pass of this term: the grain may hold exactly this already (a previous writer applied it).
            var view = await _source.GetAsync(tenant);
            if (Holds(view, content))
            {
                _applied[tenant] = new Applied(content.Fingerprint, content.Namespaces, [.. view.Resources.Select(r => r.Status)]);
                return;
            }
        }

        var outcome = await _source.ApplyAsync(tenant, content.All);
        _applied[tenant] = new Applied(content.Fingerprint, content.Namespaces, outcome.Statuses);
        _health.Applied();
        var statuses = outcome.Statuses;
        LogApplied(
            _logger,
            tenant,
            outcome.Version,
            statuses.Count(s => s.State == ResourceState.Accepted),
            statuses.Count(s => s.State == ResourceState.Discarded),
            statuses.Count(s => s.State == ResourceState.Ignored));
    }

    /// <summary>Reads every applied tenant's statuses again: arbitration with other tenants and quota changes move them too.</summary>
    private async Task RefreshStatusesAsync()
    {
        foreach (var tenant in _applied.Keys.ToList())
        {
            var view = await _source.GetAsync(tenant);
            _applied[tenant] = _applied[tenant] with { Statuses = [.. view.Resources.Select(r => r.Status)] };
        }

        _lastStatusRefresh = _time.GetTimestamp();
    }

    private async Task WriteStatusesAsync(IEnumerable<TenantContent> tenants, List<Refusal> refusals, CancellationToken cancellationToken)
    {
        var written = new List<KubeResource>();
        foreach (var tenant in tenants)
        {
            if (!_applied.TryGetValue(tenant.Tenant, out var applied))
            {
                continue;
            }

            var statuses = applied.Statuses.GroupBy(s => s.Resource).ToDictionary(g => g.Key, g => g.First());
            foreach (var discarded in _reported.Update(tenant.Tenant, tenant.Resources.Select(r => statuses.GetValueOrDefault(r.Resource.Ref)).OfType<ResourceStatus>())
                         .Where(s => s.State == ResourceState.Discarded))
            {
                LogDiscarded(_logger, tenant.Tenant, discarded.Resource.ToString(), string.Join("; ", discarded.Messages));
            }

            foreach (var resource in tenant.Resources.Where(Selected))
            {
                if (statuses.TryGetValue(resource.Resource.Ref, out var status) && AcceptedCondition.For(status, resource.Object.Generation) is { } condition)
                {
                    written.Add(resource);
                    await _statuses.WriteAsync(resource, condition, Latest(resource), cancellationToken);
                }
            }
        }

        var refused = refusals.Where(r => Selected(r.Resource)).ToList();
        foreach (var discarded in _reported.Update("", refused.Select(r => new ResourceStatus(r.Resource.Resource.Ref, ResourceState.Discarded, [r.Reason]))))
        {
            LogRefused(_logger, discarded.Resource.ToString(), string.Join("; ", discarded.Messages));
        }

        // A name no API server accepts has no URL to patch or Event to point at: its refusal is logged only.
        foreach (var refusal in refused.Where(r => ResourceNames.IsDnsSubdomain(r.Resource.Object.Name)))
        {
            written.Add(refusal.Resource);
            await _statuses.WriteAsync(refusal.Resource, AcceptedCondition.Discarded(refusal.Reason, refusal.Resource.Object.Generation), Latest(refusal.Resource), cancellationToken);
        }

        _statuses.Retain(written);
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
    private async Task WithdrawStaleAsync(TenantMap map, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var entry in await _grains.GetTenantRegistry().ListAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!map.Tenants.ContainsKey(entry.Name) && (await _source.GetAsync(entry.Name)).Resources.Any(r => r.Source == KubernetesSource.Name))
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

    private sealed record Applied(string Fingerprint, ImmutableSortedSet<string> Namespaces, ImmutableArray<ResourceStatus> Statuses);

    private void Signal() => _changes.Writer.TryWrite(true);

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

    [LoggerMessage(1, LogLevel.Information, "Kubernetes: listed {Resources} resources of {Tenants} tenants; applying what changed")]
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

    [LoggerMessage(6, LogLevel.Error, "Applying Kubernetes resources to the tenant grains failed; what they hold stays served, the next pass tries again")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
