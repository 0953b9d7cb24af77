using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
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
/// A FileSystemWatcher alone is not enough: it misses events on some filesystems (network and overlay mounts) and for
/// atomic renames such as Kubernetes ConfigMap updates, so a poll compares the fingerprints (a stat of every relevant
/// file, no read) each second as the safety net. Watcher events only make the reaction faster; bursts (an editor writes
/// a temp file, renames it, touches it) are debounced into one reload.
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

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DebounceQuiet = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan DebounceMax = TimeSpan.FromMilliseconds(600);

    private readonly Channel<string> _changes = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly TenantSource _source = new(grains, Source, options.AmbassadorId);
    private readonly StatusChanges _statuses = new();

    /// <summary>Tenant → the fingerprint of its files when they were last applied (a failed apply is not recorded: the next poll retries it).</summary>
    private readonly Dictionary<string, string> _applied = new(StringComparer.Ordinal);

    /// <summary>Tenant → its last applied evaluation and outcome (published whole in <see cref="ConfigDirectoryState"/>).</summary>
    private ImmutableSortedDictionary<string, ConfigTenant> _tenants = ImmutableSortedDictionary.Create<string, ConfigTenant>(StringComparer.Ordinal);

    private bool _missingLogged;

    private string ConfigPath => options.Path;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting (Kestrel answers /healthz) while the first configuration is evaluated.
        await Task.Yield();
        using var watcher = StartWatcher();
        await ReloadAsync(null, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var trigger = await WaitForChangeAsync(stoppingToken);
            if (trigger is not null)
            {
                await DebounceAsync(stoppingToken);
            }

            await ReloadAsync(trigger, stoppingToken);
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

    /// <summary>
    /// Applies the tenants whose files changed since they were last applied (all of them the first time) and withdraws
    /// the tenants whose subdirectory is gone. A tenant the cluster could not take is tried again by the next poll.
    /// </summary>
    private async Task ReloadAsync(string? trigger, CancellationToken cancellationToken)
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

            return;
        }

        _missingLogged = false;
        var current = ConfigFingerprint.OfTenants(path);
        var changed = current.Where(t => !_applied.TryGetValue(t.Key, out var applied) || applied != t.Value).Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        var gone = _source.Tenants.Where(t => !current.ContainsKey(t)).ToList();
        if (changed.Count == 0 && gone.Count == 0)
        {
            return;
        }

        LogChangeDetected(logger, path, trigger ?? "poll", changed.Count, gone.Count);
        Exception? failure = null;
        try
        {
            var loaded = ConfigTenants.Load(path, changed);
            var applied = new ConcurrentBag<ConfigTenant>();
            var unreadable = new ConcurrentBag<string>();
            await Parallel.ForEachAsync(loaded, new ParallelOptions { MaxDegreeOfParallelism = ApplyParallelism, CancellationToken = cancellationToken }, async (entry, _) =>
            {
                var (tenant, load) = entry;
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

            foreach (var tenant in applied.OrderBy(t => t.Tenant, StringComparer.Ordinal))
            {
                _applied[tenant.Tenant] = current[tenant.Tenant];
                _tenants = _tenants.SetItem(tenant.Tenant, tenant);
                LogOutcome(tenant.Tenant, tenant.Outcome);
            }

            foreach (var tenant in unreadable)
            {
                _applied[tenant] = current[tenant];
            }

            // A tenant whose subdirectory is gone loses what this source gave it (what other sources gave it stays).
            foreach (var (withdrawn, outcome) in await _source.HoldOnlyAsync(current.Keys))
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
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure ??= e;
        }

        if (failure is not null)
        {
            // The cluster is unreachable or a grain failed: what is stored stays served, and the next poll tries again.
            LogReloadFailed(logger, path, failure);
        }
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
            watcher.Error += (_, e) => LogWatcherFailed(logger, ConfigPath, e.GetException());
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify watches, for instance: polling still sees every change, a little later.
            LogWatcherFailed(logger, ConfigPath, e);
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

    [LoggerMessage(1, LogLevel.Information,
        "Applied {ConfigPath} to tenant {Tenant} (version {Version}): {Accepted} accepted, {Discarded} discarded, {Ignored} ignored")]
    private static partial void LogApplied(ILogger logger, string tenant, long version, string configPath, int accepted, int discarded, int ignored);

    [LoggerMessage(2, LogLevel.Warning, "Tenant {Tenant}: {Resource} is Discarded: {Reasons}")]
    private static partial void LogDiscarded(ILogger logger, string tenant, string resource, string reasons);

    [LoggerMessage(4, LogLevel.Error, "Applying {ConfigPath} to the tenant grains failed; what they hold stays served, the next poll tries again")]
    private static partial void LogReloadFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(5, LogLevel.Debug, "Change under {ConfigPath} detected ({Trigger}): {Changed} tenant(s) to apply, {Gone} to withdraw")]
    private static partial void LogChangeDetected(ILogger logger, string configPath, string trigger, int changed, int gone);

    [LoggerMessage(6, LogLevel.Warning, "File watcher for {ConfigPath} failed; changes are still picked up by polling every second")]
    private static partial void LogWatcherFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(12, LogLevel.Warning, "The config directory {Path} is missing; keeping what was applied from it until it is back")]
    private static partial void LogConfigMissing(ILogger logger, string path);

    [LoggerMessage(13, LogLevel.Warning, "Tenant {Tenant}: a config file cannot be read ({Problem}); keeping what was applied until it can")]
    private static partial void LogTenantUnreadable(ILogger logger, string tenant, string problem);
}
