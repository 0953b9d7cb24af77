using System.Collections.Frozen;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using OrleansGateway.Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Edge;

/// <summary>
/// An edge's copy of the routing state of its ambassador id. It observes the directory grain (low latency) and polls
/// its version every <see cref="PollInterval"/> (observers are lost when the directory grain moves, and a one-way
/// notification can be dropped) — doubling the wait while nothing changes, up to <see cref="MaxPollFactor"/> times the
/// interval, so that an idle edge makes no grain call every second — pulls only the changes of the listeners
/// (<see cref="ListenerSlices"/>: the parts of the tenants that changed) and the certificates whose version changed, and hands
/// each new immutable <see cref="EdgeSnapshot"/> to a callback (the data plane's apply). When the cluster cannot be
/// reached it keeps serving the last snapshot. Connections never wait for it: nothing here is on the accept path.
/// </summary>
public sealed partial class EdgeRouteCache : IRouteObserver, IAsyncDisposable
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait between polls, in poll intervals (16 s by default): the bound on how late a lost notification is
    /// noticed on an edge where nothing changed for a while. Any change, notification or failure goes back to one interval.
    /// </summary>
    public const int MaxPollFactor = 16;

    /// <summary>Well within the directory's subscription expiry, so a live edge never loses its subscription.</summary>
    private static readonly TimeSpan ResubscribeInterval = TimeSpan.FromSeconds(30);

    /// <summary>Shutdown does not wait longer for a cluster that may be gone.</summary>
    private static readonly TimeSpan UnsubscribeTimeout = TimeSpan.FromSeconds(5);

    private readonly IGrainFactory _grains;
    private readonly string _ambassadorId;
    private readonly Func<EdgeSnapshot, CancellationToken, Task> _apply;
    private readonly ILogger<EdgeRouteCache> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();

    private ListenerSlices _slices = ListenerSlices.Empty;
    private readonly Dictionary<SecretRef, CertificateView> _certificates = [];
    private readonly Dictionary<string, (SecretCertificateProvider Provider, ImmutableArray<Diagnostic> Problems)> _tenants = [];

    /// <summary>The directory as of the last snapshot the data plane took: the next changes are asked from its version.</summary>
    private EdgeDirectory _directory = EdgeDirectory.Empty;

    private TaskCompletionSource _changed = NewSignal();
    private IRouteObserver? _self;
    private DateTimeOffset? _subscribedAt;
    private Task? _loop;
    private long? _directoryVersion;
    private volatile bool _connected;
    private long _lastRefreshTicks = -1;

    public EdgeRouteCache(
        IGrainFactory grains,
        string ambassadorId,
        Func<EdgeSnapshot, CancellationToken, Task> apply,
        ILogger<EdgeRouteCache> logger,
        TimeProvider? time = null,
        TimeSpan? pollInterval = null)
    {
        _grains = grains;
        _ambassadorId = ambassadorId;
        _apply = apply;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        PollInterval = pollInterval ?? DefaultPollInterval;
    }

    public TimeSpan PollInterval { get; }

    /// <summary>True after a successful refresh, false after a failed one (for /readyz).</summary>
    public bool IsConnected => _connected;

    /// <summary>When the directory was last read successfully; null before the first time.</summary>
    public DateTimeOffset? LastSuccessfulRefresh
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastRefreshTicks);
            return ticks < 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>The last snapshot handed to the callback; null before the first one.</summary>
    public EdgeSnapshot? Current { get; private set; }

    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The edge route cache is already started.");
        }

        _self = _grains.CreateObjectReference<IRouteObserver>(this);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Called by the directory grain (one-way): wake the loop now instead of at the next poll.</summary>
    public Task DirectoryChangedAsync(long version)
    {
        Volatile.Read(ref _changed).TrySetResult();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_self is not null)
        {
            try
            {
                await _grains.GetDirectoryGrain(_ambassadorId).UnsubscribeAsync(_self).WaitAsync(UnsubscribeTimeout, _time).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The subscription expires on its own; a gone cluster must not fail shutdown.
                LogUnsubscribeFailed(_logger, _ambassadorId, e);
            }

            _grains.DeleteObjectReference<IRouteObserver>(_self);
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var wait = PollInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            // A new signal before the refresh: a notification that arrives during it wakes the next wait at once.
            var changed = NewSignal();
            Volatile.Write(ref _changed, changed);
            var version = _directoryVersion;
            try
            {
                await RefreshAsync(cancellationToken).ConfigureAwait(false);

                // Quiet when idle: an unchanged directory doubles the wait (a notification still wakes it at once).
                wait = _directoryVersion == version && wait < PollInterval * MaxPollFactor ? wait * 2 : wait;
                if (_directoryVersion != version)
                {
                    wait = PollInterval;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _connected = false;
                _subscribedAt = null;
                wait = PollInterval;
                LogRefreshFailed(_logger, _ambassadorId, e);
            }

            try
            {
                await Task.WhenAny(changed.Task, Task.Delay(wait, _time, cancellationToken)).ConfigureAwait(false);
                if (changed.Task.IsCompleted)
                {
                    wait = PollInterval;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var directory = _grains.GetDirectoryGrain(_ambassadorId);
        var now = _time.GetUtcNow();
        if (_subscribedAt is null || now - _subscribedAt > ResubscribeInterval)
        {
            await directory.SubscribeAsync(_self!).WaitAsync(cancellationToken).ConfigureAwait(false);
            _subscribedAt = now;
        }

        // WaitAsync: a call to a gone cluster waits for the grain call timeout; shutdown must not.
        var changes = await directory.GetChangesAsync(_directory.Epoch, _directory.Version).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (changes.Full || changes.Version != _directory.Version)
        {
            await RebuildAsync(_directory.With(changes), cancellationToken).ConfigureAwait(false);
        }

        _connected = true;
        Interlocked.Exchange(ref _lastRefreshTicks, _time.GetUtcNow().UtcTicks);
    }

    private async Task RebuildAsync(EdgeDirectory directory, CancellationToken cancellationToken)
    {
        var view = directory.View;
        var slices = await _slices.FetchAsync(_grains, view.Listeners).WaitAsync(cancellationToken).ConfigureAwait(false);
        var plan = new GatewayPlan(_ambassadorId, [.. slices.Plans])
        {
            ConnectionLimits = directory.ConnectionLimits,
            UpstreamPolicies = directory.UpstreamPolicies,
        };

        var referenced = slices.Secrets();
        var wanted = view.Certificates.Where(c => referenced.Contains(c.Secret)).ToList();
        var fetched = await Task.WhenAll(wanted
            .Where(c => !_certificates.TryGetValue(c.Secret, out var known) || known.Version != c.Version)
            .Select(async c => (c.Secret, View: await _grains.GetCertificateGrain(c.Secret).GetAsync().ConfigureAwait(false)))).WaitAsync(cancellationToken).ConfigureAwait(false);

        var certificates = wanted.ToDictionary(c => c.Secret, c => _certificates.GetValueOrDefault(c.Secret));
        foreach (var (secret, certificate) in fetched)
        {
            certificates[secret] = certificate;
        }

        var tenants = BuildTenants(certificates, fetched.Select(f => f.Secret.Tenant));
        var snapshot = new EdgeSnapshot(
            view.Version,
            plan,
            new TenantCertificateProvider(tenants.ToFrozenDictionary(t => t.Key, t => t.Value.Provider)),
            [.. tenants.Values.SelectMany(t => t.Problems)]);
        await _apply(snapshot, cancellationToken).ConfigureAwait(false);

        // Only a snapshot the data plane took becomes the base of the next diff; a failed apply is retried whole.
        _slices = slices;
        Replace(_certificates, certificates!);
        Replace(_tenants, tenants);
        _directory = directory;
        _directoryVersion = view.Version;
        Current = snapshot;
        LogApplied(_logger, _ambassadorId, view.Version, plan.Listeners.Length, certificates.Count);
    }

    /// <summary>
    /// A tenant's provider is rebuilt (certificates parsed again) only when one of its certificates was fetched (new or
    /// at a new version) or the plan stopped referencing one (a count smaller than before); every other tenant keeps
    /// its provider without its certificates being compared.
    /// </summary>
    private Dictionary<string, (SecretCertificateProvider Provider, ImmutableArray<Diagnostic> Problems)> BuildTenants(
        Dictionary<SecretRef, CertificateView?> certificates, IEnumerable<string> fetchedTenants)
    {
        var result = new Dictionary<string, (SecretCertificateProvider, ImmutableArray<Diagnostic>)>();
        var dirty = fetchedTenants.ToHashSet(StringComparer.Ordinal);
        var counts = certificates.Keys.CountBy(k => k.Tenant).ToDictionary(StringComparer.Ordinal);
        var known = _certificates.Keys.CountBy(k => k.Tenant).ToDictionary(StringComparer.Ordinal);
        foreach (var (tenant, count) in counts)
        {
            // A plan that starts or stops referencing one of the tenant's certificates changes its count.
            if (!dirty.Contains(tenant) && count == known.GetValueOrDefault(tenant) && _tenants.TryGetValue(tenant, out var kept))
            {
                result[tenant] = kept;
            }
            else
            {
                dirty.Add(tenant);
            }
        }

        foreach (var tenant in certificates.Where(c => dirty.Contains(c.Key.Tenant)).GroupBy(c => c.Key.Tenant))
        {
            var secrets = tenant
                .Where(c => c.Value?.Material is not null)
                .Select(c => new SecretResource
                {
                    Namespace = c.Key.Namespace,
                    Name = c.Key.Name,
                    Type = c.Value!.Material!.Type,
                    TlsCrt = c.Value.Material.TlsCrt,
                    TlsKey = c.Value.Material.TlsKey,
                    CaCrt = c.Value.Material.CaCrt,
                });
            var provider = SecretCertificateProvider.FromSecrets(secrets, _time, out var problems);
            result[tenant.Key] = (provider, problems);
        }

        return result;
    }

    private static void Replace<TKey, TValue>(Dictionary<TKey, TValue> target, Dictionary<TKey, TValue> source) where TKey : notnull
    {
        target.Clear();
        foreach (var (key, value) in source)
        {
            target[key] = value;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Information, Message = "Edge {AmbassadorId}: serving directory version {Version} ({Listeners} listener(s), {Certificates} certificate(s))")]
    private static partial void LogApplied(ILogger logger, string ambassadorId, long version, int listeners, int certificates);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Edge {AmbassadorId}: cannot refresh routes from the cluster; serving the last snapshot")]
    private static partial void LogRefreshFailed(ILogger logger, string ambassadorId, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Edge {AmbassadorId}: unsubscribing from the directory failed")]
    private static partial void LogUnsubscribeFailed(ILogger logger, string ambassadorId, Exception exception);
}
