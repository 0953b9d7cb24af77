using System.Collections.Immutable;
using System.Threading.Channels;
using OrleansGateway.Model;
using OrleansGateway.Grains;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>
/// The configuration directory as a source of the control plane: its files are applied to the tenant grains
/// (<see cref="ConfigTenants"/> says which file goes to which tenant) in <see cref="ApplyMode.PerResource"/> mode with
/// <see cref="ApplyRequest.Prune"/>, on start and again whenever a relevant file changes. Reloads run one at a time on
/// this loop, so they are serialized by construction. The edges serve the result as for any other source.
/// </summary>
/// <remarks>
/// A FileSystemWatcher alone is not enough: it misses events on some filesystems (network and overlay mounts) and for
/// atomic renames such as Kubernetes ConfigMap updates, so a poll compares a fingerprint (path, size, mtime) of every
/// relevant file each second. Watcher events only make the reaction faster; bursts (an editor writes a temp file,
/// renames it, touches it) are debounced into one reload.
/// </remarks>
internal sealed class ConfigDirectorySource(
    GatewaySettings settings,
    IGrainFactory grains,
    GatewayState state,
    TimeProvider time,
    ILogger<ConfigDirectorySource> logger) : BackgroundService
{
    /// <summary>The <see cref="ApplyRequest.Source"/> of this source: it prunes only what it applied itself.</summary>
    public const string Source = "config-dir";

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DebounceQuiet = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan DebounceMax = TimeSpan.FromMilliseconds(600);

    /// <summary>A fingerprint no directory has: after a failed apply the next poll applies again.</summary>
    private const string NotApplied = "(not applied)";

    private readonly Channel<string> _changes = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private ImmutableDictionary<(string Tenant, ResourceRef Resource), string> _discarded = ImmutableDictionary<(string, ResourceRef), string>.Empty;
    private ImmutableArray<string> _applied = [];

    /// <summary>The source runs only when the command line gave a config path.</summary>
    private string ConfigPath => settings.ConfigPath!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting (Kestrel answers /healthz) while the first configuration is evaluated.
        await Task.Yield();
        using var watcher = StartWatcher();
        var fingerprint = ConfigFingerprint.Of(ConfigPath);
        if (!await ReloadAsync(stoppingToken))
        {
            fingerprint = NotApplied;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var trigger = await WaitForChangeAsync(stoppingToken);
            var current = ConfigFingerprint.Of(ConfigPath);
            if (trigger is null && current == fingerprint)
            {
                continue;
            }

            Log.ChangeDetected(logger, ConfigPath, trigger ?? "poll");
            if (trigger is not null)
            {
                await DebounceAsync(stoppingToken);
                current = ConfigFingerprint.Of(ConfigPath);
            }

            fingerprint = await ReloadAsync(stoppingToken) ? current : NotApplied;
        }
    }

    /// <summary>A watcher event's description, or null when the poll interval passed without one.</summary>
    private async Task<string?> WaitForChangeAsync(CancellationToken cancellationToken)
    {
        using var poll = new CancellationTokenSource(PollInterval, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, poll.Token);
        try
        {
            return await _changes.Reader.ReadAsync(either.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Waits until no event came for <see cref="DebounceQuiet"/>, but never longer than <see cref="DebounceMax"/> in all.</summary>
    private async Task DebounceAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        do
        {
            await Task.Delay(DebounceQuiet, time, cancellationToken);
        }
        while (_changes.Reader.TryRead(out _) && time.GetElapsedTime(started) < DebounceMax);
    }

    /// <summary>Applies every tenant of the directory; false when the cluster could not take it (the next poll retries).</summary>
    private async Task<bool> ReloadAsync(CancellationToken cancellationToken)
    {
        var path = ConfigPath;
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            // A directory that vanished (an unmounted volume, a rename in progress) is not "delete everything": the
            // source prunes what it applied, so applying nothing would take every tenant off the air.
            Log.ConfigMissing(logger, path);
            return true;
        }

        try
        {
            var loaded = ConfigTenants.Load(path);
            var tenants = ImmutableArray.CreateBuilder<ConfigTenant>();
            foreach (var (tenant, load) in loaded)
            {
                if (load.Diagnostics.FirstOrDefault(d => d.Code == DiagnosticCodes.IoError) is { } unreadable)
                {
                    // Same reasoning for a tenant with a file that cannot be read now: its last applied state stays.
                    Log.TenantUnreadable(logger, tenant, unreadable.Message);
                    continue;
                }

                var local = ConfigEvaluator.Evaluate(load, settings.AmbassadorId, settings.Compile with { Tenant = tenant });
                var request = new ApplyRequest(load.Resources, ApplyMode.PerResource, Source, Prune: true);
                var outcome = await grains.GetTenantGrain(tenant).ApplyAsync(request);
                tenants.Add(new ConfigTenant(tenant, local, outcome));
                LogOutcome(tenant, outcome);
            }

            // A tenant whose subdirectory is gone loses what this source gave it (what other sources gave it stays).
            foreach (var gone in _applied.Except(loaded.Keys))
            {
                var outcome = await grains.GetTenantGrain(gone).ApplyAsync(new ApplyRequest([], ApplyMode.PerResource, Source, Prune: true));
                LogOutcome(gone, outcome);
            }

            _applied = [.. loaded.Keys];
            var directory = await grains.GetDirectoryGrain(settings.AmbassadorId).GetAsync();
            state.Publish(new ConfigApplied(tenants.ToImmutable(), directory.Version));
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The cluster is unreachable or a grain failed: what is stored stays served, and the next poll tries again.
            Log.ReloadFailed(logger, path, e);
            return false;
        }
    }

    private void LogOutcome(string tenant, ApplyOutcome outcome)
    {
        var statuses = outcome.Statuses;
        Log.Applied(
            logger,
            tenant,
            outcome.Version,
            ConfigPath,
            statuses.Count(s => s.State == ResourceState.Accepted),
            statuses.Count(s => s.State == ResourceState.Discarded),
            statuses.Count(s => s.State == ResourceState.Ignored));

        // Each Discarded resource is logged once per change of its reasons, not on every reload.
        var discarded = statuses
            .Where(s => s.State == ResourceState.Discarded)
            .GroupBy(s => (tenant, s.Resource))
            .ToImmutableDictionary(g => g.Key, g => string.Join("; ", g.First().Messages));
        foreach (var (key, reasons) in discarded)
        {
            if (!_discarded.TryGetValue(key, out var before) || before != reasons)
            {
                Log.Discarded(logger, tenant, key.Resource.ToString(), reasons);
            }
        }

        _discarded = _discarded.RemoveRange(_discarded.Keys.Where(k => k.Tenant == tenant)).AddRange(discarded);
    }

    private FileSystemWatcher? StartWatcher()
    {
        var isFile = File.Exists(ConfigPath);
        var directory = isFile ? Path.GetDirectoryName(ConfigPath)! : ConfigPath;
        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = !isFile,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            if (isFile)
            {
                watcher.Filter = Path.GetFileName(ConfigPath);
            }

            watcher.Changed += (_, e) => Signal(e);
            watcher.Created += (_, e) => Signal(e);
            watcher.Deleted += (_, e) => Signal(e);
            watcher.Renamed += (_, e) => Signal(e);
            watcher.Error += (_, e) => Log.WatcherFailed(logger, ConfigPath, e.GetException());
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify watches, for instance: polling still sees every change, a little later.
            Log.WatcherFailed(logger, ConfigPath, e);
            return null;
        }
    }

    /// <summary>
    /// Only files the loader reads wake the loop, so editor swap files and temp files cause no reload. A renamed or
    /// deleted directory raises no such event: the poll sees it.
    /// </summary>
    private void Signal(FileSystemEventArgs e)
    {
        var renamedFrom = e is RenamedEventArgs renamed ? renamed.OldFullPath : null;
        if (IsRelevant(e.FullPath) || (renamedFrom is not null && IsRelevant(renamedFrom)))
        {
            _changes.Writer.TryWrite($"{e.ChangeType} {e.FullPath}");
        }
    }

    private bool IsRelevant(string fullPath) => File.Exists(ConfigPath)
        ? string.Equals(fullPath, ConfigPath, StringComparison.Ordinal)
        : ConfigFingerprint.IsRelevant(Path.GetRelativePath(ConfigPath, fullPath));
}
