using System.Collections.Immutable;
using System.Threading.Channels;
using OrleansGateway.Model;
using OrleansGateway.Proxy;
using OrleansGateway.Reporting;

namespace OrleansGateway.Silo;

/// <summary>
/// Serves the configuration directory: evaluates it, applies the plan to the proxy, publishes the statuses, and does it
/// again whenever a relevant file changes. Reloads run one at a time on this loop, so they are serialized by construction.
/// </summary>
/// <remarks>
/// A FileSystemWatcher alone is not enough: it misses events on some filesystems (network and overlay mounts) and for
/// atomic renames such as Kubernetes ConfigMap updates, so a poll compares a fingerprint (path, size, mtime) of every
/// relevant file each second. Watcher events only make the reaction faster; bursts (an editor writes a temp file,
/// renames it, touches it) are debounced into one reload.
/// </remarks>
internal sealed class ConfigDirectorySource(
    GatewaySettings settings,
    ProxyServer proxy,
    GatewayState state,
    TimeProvider time,
    ILogger<ConfigDirectorySource> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DebounceQuiet = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan DebounceMax = TimeSpan.FromMilliseconds(600);

    private readonly Channel<string> _changes = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private ImmutableDictionary<ResourceRef, string> _discarded = ImmutableDictionary<ResourceRef, string>.Empty;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting (Kestrel answers /healthz) while the first configuration is evaluated.
        await Task.Yield();
        using var watcher = StartWatcher();
        var fingerprint = ConfigFingerprint.Of(settings.ConfigPath);
        await ReloadAsync(stoppingToken);

        while (!stoppingToken.IsCancellationRequested)
        {
            var trigger = await WaitForChangeAsync(stoppingToken);
            var current = ConfigFingerprint.Of(settings.ConfigPath);
            if (trigger is null && current == fingerprint)
            {
                continue;
            }

            Log.ChangeDetected(logger, settings.ConfigPath, trigger ?? "poll");
            if (trigger is not null)
            {
                await DebounceAsync(stoppingToken);
                current = ConfigFingerprint.Of(settings.ConfigPath);
            }

            fingerprint = current;
            await ReloadAsync(stoppingToken);
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

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var evaluation = ConfigEvaluator.Evaluate(settings.ConfigPath, settings.AmbassadorId, settings.Compile);
            var apply = await proxy.ApplyAsync(evaluation.Plan, evaluation.Certificates, cancellationToken);
            var snapshot = new GatewaySnapshot(evaluation, apply, ConfigEvaluator.WithBindResults(evaluation.Statuses, apply));
            state.Publish(snapshot);
            LogOutcome(snapshot);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception e)
        {
            // A bug in one reload must not take down what is being served: the previous snapshot stays.
            Log.ReloadFailed(logger, settings.ConfigPath, e);
        }
    }

    private void LogOutcome(GatewaySnapshot snapshot)
    {
        var statuses = snapshot.Statuses;
        Log.Applied(
            logger,
            snapshot.Apply.Generation,
            settings.ConfigPath,
            statuses.Count(s => s.State == ResourceState.Accepted),
            statuses.Count(s => s.State == ResourceState.Discarded),
            statuses.Count(s => s.State == ResourceState.Ignored),
            snapshot.Apply.Listeners.Length,
            snapshot.Apply.Failed.Count());

        foreach (var failed in snapshot.Apply.Failed)
        {
            Log.BindFailed(logger, failed.Endpoint.ToString(), failed.Error);
        }

        // Each Discarded resource is logged once per change of its reasons, not on every reload.
        var discarded = statuses
            .Where(s => s.State == ResourceState.Discarded)
            .GroupBy(s => s.Resource)
            .ToImmutableDictionary(g => g.Key, g => string.Join("; ", g.First().Messages));
        foreach (var (resource, reasons) in discarded)
        {
            if (!_discarded.TryGetValue(resource, out var before) || before != reasons)
            {
                Log.Discarded(logger, resource.ToString(), reasons);
            }
        }

        _discarded = discarded;
    }

    private FileSystemWatcher? StartWatcher()
    {
        var isFile = File.Exists(settings.ConfigPath);
        var directory = isFile ? Path.GetDirectoryName(settings.ConfigPath)! : settings.ConfigPath;
        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = !isFile,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            if (isFile)
            {
                watcher.Filter = Path.GetFileName(settings.ConfigPath);
            }

            watcher.Changed += (_, e) => Signal(e);
            watcher.Created += (_, e) => Signal(e);
            watcher.Deleted += (_, e) => Signal(e);
            watcher.Renamed += (_, e) => Signal(e);
            watcher.Error += (_, e) => Log.WatcherFailed(logger, settings.ConfigPath, e.GetException());
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify watches, for instance: polling still sees every change, a little later.
            Log.WatcherFailed(logger, settings.ConfigPath, e);
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

    private bool IsRelevant(string fullPath) => File.Exists(settings.ConfigPath)
        ? string.Equals(fullPath, settings.ConfigPath, StringComparison.Ordinal)
        : ConfigFingerprint.IsRelevant(Path.GetRelativePath(settings.ConfigPath, fullPath));
}
