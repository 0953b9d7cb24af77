using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;
using OrleansGateway.Reporting;

namespace OrleansGateway.Sources.ConfigDirectory;

/// <summary>
/// The configuration directory as a source of the control plane: its files are applied to the tenant grains through
/// a <see cref="TenantSource"/> (<see cref="ConfigTenants"/> says which file goes to which tenant; per resource, pruning
/// what it applied before), on start and again whenever a relevant file changes. Only the tenants whose files changed
/// are read and applied again (a per-tenant fingerprint of path, size and mtime says which), several tenants at a time,
/// so an edit of one tenant among thousands costs that tenant's apply. Reloads run one at a time on this loop, so they
/// are serialized by construction. The edges serve the result as for any other source.
/// </summary>
/// <remarks>
/// A recursive FileSystemWatcher names the tenants to look at: an event marks the tenant of its path (and of the old
/// path of a rename, so an editor's write-to-temp-then-rename counts), and only those tenants' files are stat-ed, so a
/// change among thousands of files costs one tenant's stat and apply. Events are debounced (150 ms quiet, at most
/// 600 ms), so a burst of writes in one tenant becomes one apply of it. The watcher alone is not enough: it misses
/// changes on some filesystems (network and overlay mounts), behind symlinks to elsewhere, and when its queue
/// overflows; so every <see cref="ConfigDirectoryOptions.FullScanInterval"/> (and right after an overflow) every
/// tenant's fingerprint is compared (a stat of every relevant file, no read). Without a watcher (out of inotify
/// watches), the full scan runs every second.
/// </remarks>
public sealed partial class ConfigDirectorySource(
    ConfigDirectoryOptions options,
    IGrainFactory grains,
    ConfigDirectoryState state,
    TimeProvider time,
    ILogger<ConfigDirectorySource> logger) : BackgroundService
{
    /// <summary>The <see cref="ApplyRequest.Source"/> of this source: it prunes only what it applied itself.</summary>
    public const string Source = "config-dir";

    /// <summary>
    /// Tenants applied at once: their grains compile and store in parallel (the listener grains they share still take
    /// one claim at a time). When two tenants of the directory claim the same name, the one whose claim arrives first keeps it.
    /// </summary>
    private const int ApplyParallelism = 8;

    /// <summary>The full scan's period without a watcher, and the delay before retrying a failed or impossible reload.</summary>
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>The watcher's buffer: the largest Windows allows, so bursts of thousands of events rarely overflow (Linux queues them in the kernel).</summary>
    private const int WatcherBufferBytes = 64 * 1024;

    private static readonly TimeSpan DebounceQuiet = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan DebounceMax = TimeSpan.FromMilliseconds(600);

    private readonly Channel<string> _changes = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly TenantSource _source = new(grains, Source, options.AmbassadorId);
    private readonly StatusChanges _statuses = new();

    /// <summary>Tenant → the fingerprint of its files when they were last applied (a failed apply is not recorded: the next full scan retries it).</summary>
    private readonly Dictionary<string, string> _applied = new(StringComparer.Ordinal);

    /// <summary>Tenant → its last applied evaluation and outcome (published whole in <see cref="ConfigDirectoryState"/>).</summary>
    private ImmutableSortedDictionary<string, ConfigTenant> _tenants = ImmutableSortedDictionary.Create<string, ConfigTenant>(StringComparer.Ordinal);

    private bool _missingLogged;

    /// <summary>What the watcher reported since the last reload: the tenants to look at, or that everything must be.</summary>
    private readonly Lock _pendingLock = new();
    private HashSet<string> _pending = new(StringComparer.Ordinal);
    private bool _pendingFullScan;

    /// <summary>Set when the watcher stopped (an error other than an overflow, the directory vanished): it is started again.</summary>
    private volatile bool _restartWatcher;

    private bool _watchesFile;

    private string ConfigPath => options.Path;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting (Kestrel answers /healthz) while the first configuration is evaluated.
        await Task.Yield();
        var watcher = StartWatcher();
        try
        {
            var nextScan = time.GetUtcNow();
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = nextScan - time.GetUtcNow();
                if (wait > TimeSpan.Zero && await WaitForChangeAsync(wait, stoppingToken))
                {
                    await DebounceAsync(stoppingToken);
                }

                if (_restartWatcher && (File.Exists(ConfigPath) || Directory.Exists(ConfigPath)))
                {
                    // Events missed while it was down are seen by the full scan that follows.
                    _restartWatcher = false;
                    watcher?.Dispose();
                    watcher = StartWatcher();
                    RequestFullScan();
                }

                var (tenants, full) = TakePending();
                full |= time.GetUtcNow() >= nextScan;
                if (full)
                {
                    nextScan = time.GetUtcNow() + (watcher is null ? RetryInterval : options.FullScanInterval);
                }

                if (!await ReloadAsync(full ? null : tenants, full ? "full scan" : "watcher", stoppingToken))
                {
                    // The cluster refused, or the directory is missing: everything is looked at again shortly.
                    nextScan = time.GetUtcNow() + RetryInterval;
                }
            }
        }
        finally
        {
            watcher?.Dispose();
        }
    }

    /// <summary>Whether a watcher event came before <paramref name="wait"/> passed.</summary>
    private async Task<bool> WaitForChangeAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        using var scan = new CancellationTokenSource(wait, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, scan.Token);
        try
        {
            await _changes.Reader.ReadAsync(either.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private (HashSet<string> Tenants, bool Full) TakePending()
    {
        lock (_pendingLock)
        {
            var taken = (_pending, _pendingFullScan);
            _pending = new HashSet<string>(StringComparer.Ordinal);
            _pendingFullScan = false;
            return taken;
        }
    }

    private void RequestFullScan()
    {
        lock (_pendingLock)
        {
            _pendingFullScan = true;
        }

        _changes.Writer.TryWrite("full scan");
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

    /// <summary>
    /// Looks at <paramref name="scope"/> (null: every tenant), applies the tenants whose files changed since they were
    /// last applied (all of them the first time) and withdraws the tenants whose subdirectory is gone. False when the
    /// directory is missing or the cluster did not take everything: a full scan soon tries again.
    /// </summary>
    private async Task<bool> ReloadAsync(IReadOnlySet<string>? scope, string trigger, CancellationToken cancellationToken)
    {
        var path = ConfigPath;
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            // A directory that vanished (an unmounted volume, a rename in progress) is not "delete everything": the
            // source prunes what it applied, so applying nothing would take every tenant off the air.
            if (!_missingLogged)
            {
                LogConfigMissing(logger, path);
                _missingLogged = true;
            }

            // Its watcher (if the directory itself went) watches nothing any more.
            _restartWatcher = true;
            return false;
        }

        _missingLogged = false;
        var full = scope is null || _watchesFile;
        var current = full
            ? ConfigFingerprint.OfTenants(path).ToDictionary(t => t.Key, string? (t) => t.Value, StringComparer.Ordinal)
            : scope!.ToDictionary(t => t, t => ConfigFingerprint.OfTenant(path, t), StringComparer.Ordinal);
        state.CountLook(current.Count, full);
        var changed = current.Where(t => t.Value is not null && (!_applied.TryGetValue(t.Key, out var applied) || applied != t.Value)).Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        var gone = full
            ? _source.Tenants.Where(t => !current.ContainsKey(t)).ToList()
            : [.. _source.Tenants.Where(t => current.TryGetValue(t, out var fingerprint) && fingerprint is null)];
        if (changed.Count == 0 && gone.Count == 0)
        {
            return true;
        }

        LogChangeDetected(logger, path, trigger, current.Count, changed.Count, gone.Count);
        Exception? failure = null;
        try
        {
            var loaded = ConfigTenants.Load(path, changed);
            var applied = new ConcurrentBag<ConfigTenant>();
            var unreadable = new ConcurrentBag<string>();
            await Parallel.ForEachAsync(loaded, new ParallelOptions { MaxDegreeOfParallelism = ApplyParallelism, CancellationToken = cancellationToken }, async (entry, _) =>
            {
                var (tenant, read) = entry;
                var load = read();
                if (load.Diagnostics.FirstOrDefault(d => d.Code == DiagnosticCodes.IoError) is { } problem)
                {
                    // Same reasoning for a tenant with a file that cannot be read now: its last applied state stays
                    // (until its files change again).
                    LogTenantUnreadable(logger, tenant, problem.Message);
                    unreadable.Add(tenant);
                    return;
                }

                try
                {
                    var local = ConfigEvaluator.Evaluate(load, options.AmbassadorId, options.Compile with { Tenant = tenant });
                    var outcome = await _source.ApplyAsync(tenant, load.Resources);
                    applied.Add(new ConfigTenant(tenant, local, outcome));
                }
                catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            });

            state.CountApplied(applied.Count);
            foreach (var tenant in applied.OrderBy(t => t.Tenant, StringComparer.Ordinal))
            {
                _applied[tenant.Tenant] = current[tenant.Tenant]!;
                _tenants = _tenants.SetItem(tenant.Tenant, tenant);
                LogOutcome(tenant.Tenant, tenant.Outcome);
            }

            foreach (var tenant in unreadable)
            {
                _applied[tenant] = current[tenant]!;
            }

            // A tenant whose subdirectory is gone loses what this source gave it (what other sources gave it stays).
            var kept = full ? current.Keys : _source.Tenants.Except(gone, StringComparer.Ordinal);
            foreach (var (withdrawn, outcome) in await _source.HoldOnlyAsync(kept))
            {
                _applied.Remove(withdrawn);
                _tenants = _tenants.Remove(withdrawn);
                LogOutcome(withdrawn, outcome);
            }

            state.Publish(new ConfigApplied([.. _tenants.Values], await _source.DirectoryVersionAsync()));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure ??= e;
        }

        if (failure is not null)
        {
            // The cluster is unreachable or a grain failed: what is stored stays served, and the next scan tries again.
            LogReloadFailed(logger, path, failure);
            return false;
        }

        return true;
    }

    private void LogOutcome(string tenant, ApplyOutcome outcome)
    {
        var statuses = outcome.Statuses;
        LogApplied(
            logger,
            tenant,
            outcome.Version,
            ConfigPath,
            statuses.Count(s => s.State == ResourceState.Accepted),
            statuses.Count(s => s.State == ResourceState.Discarded),
            statuses.Count(s => s.State == ResourceState.Ignored));

        // Each Discarded resource is logged once per change of its reasons, not on every reload.
        foreach (var discarded in _statuses.Update(tenant, statuses).Where(s => s.State == ResourceState.Discarded))
        {
            LogDiscarded(logger, tenant, discarded.Resource.ToString(), string.Join("; ", discarded.Messages));
        }
    }

    private FileSystemWatcher? StartWatcher()
    {
        var isFile = File.Exists(ConfigPath);
        _watchesFile = isFile;
        var directory = isFile ? Path.GetDirectoryName(Path.GetFullPath(ConfigPath))! : ConfigPath;
        FileSystemWatcher? watcher = null;
        try
        {
            watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = !isFile,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                InternalBufferSize = WatcherBufferBytes,
            };
            watcher.Changed += (_, e) => Signal(e);
            watcher.Created += (_, e) => Signal(e);
            watcher.Deleted += (_, e) => Signal(e);
            watcher.Renamed += (_, e) => Signal(e);
            watcher.Error += (_, e) => OnWatcherError(e.GetException());
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify watches, for instance: the full scan then runs every second and still sees every change.
            watcher?.Dispose();
            LogWatcherUnavailable(logger, ConfigPath, e);
            return null;
        }
    }

    private void OnWatcherError(Exception exception)
    {
        if (exception is InternalBufferOverflowException)
        {
            // Events were lost, but the watcher goes on: which tenants changed is unknown, so all are looked at.
            LogWatcherOverflow(logger, ConfigPath);
        }
        else
        {
            LogWatcherFailed(logger, ConfigPath, exception);
            _restartWatcher = true;
        }

        RequestFullScan();
    }

    /// <summary>Marks the tenants an event names and wakes the loop; events only the loader's skipped files raise are dropped.</summary>
    private void Signal(FileSystemEventArgs e)
    {
        var marked = Mark(e.FullPath);
        if (e is RenamedEventArgs renamed)
        {
            marked |= Mark(renamed.OldFullPath);
        }

        if (marked)
        {
            _changes.Writer.TryWrite(e.FullPath);
        }
    }

    /// <summary>
    /// The tenants a changed path may belong to. A top-level name is the tenant <c>default</c> (a file) or the tenant of
    /// that name (a directory; once deleted, which it was is unknown): both are looked at. Dot-names are skipped as the
    /// loader skips them, except Kubernetes' <c>..data</c>-style names: a ConfigMap update swaps them behind symlinks
    /// that do not change, so their tenant (all of them, at the top level) is looked at.
    /// </summary>
    private bool Mark(string fullPath)
    {
        if (_watchesFile)
        {
            // The file itself, or a ConfigMap's ..data swapped beside it; other files of its directory wake nothing.
            return (string.Equals(fullPath, Path.GetFullPath(ConfigPath), StringComparison.Ordinal)
                    || Path.GetFileName(fullPath).StartsWith("..", StringComparison.Ordinal))
                && Add(CompileOptions.DefaultTenant);
        }

        var parts = Path.GetRelativePath(ConfigPath, fullPath).Split(Path.DirectorySeparatorChar);
        if (parts.Any(p => p.StartsWith("..", StringComparison.Ordinal)))
        {
            if (parts[0].StartsWith('.'))
            {
                RequestFullScan();
                return true;
            }

            return Add(parts[0]);
        }

        if (parts.Any(p => p.StartsWith('.')))
        {
            return false;
        }

        return parts.Length == 1 ? Add(CompileOptions.DefaultTenant) | Add(parts[0]) : Add(parts[0]);
    }

    private bool Add(string tenant)
    {
        lock (_pendingLock)
        {
            _pending.Add(tenant);
        }

        return true;
    }

    [LoggerMessage(1, LogLevel.Information,
        "Applied {ConfigPath} to tenant {Tenant} (version {Version}): {Accepted} accepted, {Discarded} discarded, {Ignored} ignored")]
    private static partial void LogApplied(ILogger logger, string tenant, long version, string configPath, int accepted, int discarded, int ignored);

    [LoggerMessage(2, LogLevel.Warning, "Tenant {Tenant}: {Resource} is Discarded: {Reasons}")]
    private static partial void LogDiscarded(ILogger logger, string tenant, string resource, string reasons);

    [LoggerMessage(4, LogLevel.Error, "Applying {ConfigPath} to the tenant grains failed; what they hold stays served, the directory is scanned again in a second")]
    private static partial void LogReloadFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(5, LogLevel.Debug, "Change under {ConfigPath} detected ({Trigger}, {LookedAt} tenant(s) looked at): {Changed} tenant(s) to apply, {Gone} to withdraw")]
    private static partial void LogChangeDetected(ILogger logger, string configPath, string trigger, int lookedAt, int changed, int gone);

    [LoggerMessage(6, LogLevel.Warning, "File watcher for {ConfigPath} failed; it is started again, and a full scan of the directory picks up what it missed")]
    private static partial void LogWatcherFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(7, LogLevel.Warning, "File watcher for {ConfigPath} cannot run; changes are picked up by a full scan of the directory every second")]
    private static partial void LogWatcherUnavailable(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "File watcher for {ConfigPath} lost events (too many at once); a full scan of the directory picks them up")]
    private static partial void LogWatcherOverflow(ILogger logger, string configPath);

    [LoggerMessage(12, LogLevel.Warning, "The config directory {Path} is missing; keeping what was applied from it until it is back")]
    private static partial void LogConfigMissing(ILogger logger, string path);

    [LoggerMessage(13, LogLevel.Warning, "Tenant {Tenant}: a config file cannot be read ({Problem}); keeping what was applied until it can")]
    private static partial void LogTenantUnreadable(ILogger logger, string tenant, string problem);
}
