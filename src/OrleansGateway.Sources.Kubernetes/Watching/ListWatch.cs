using System.Net;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Sources.Kubernetes.Watching;

/// <summary>
/// Keeps one <see cref="ObjectCache"/> equal to what the API server holds, never missing a change
/// (docs/kubernetes.md, "Watching"):
/// <list type="bullet">
/// <item>list, then watch from the list's resourceVersion with bookmarks, advancing the version on every event;</item>
/// <item>410 Gone, whichever way it comes (an ERROR event, which KubernetesClient reports only through the watch's
/// <c>onError</c> as a <see cref="KubernetesException"/> and then ends the stream; or the HTTP status of the watch
/// request, an <see cref="HttpOperationException"/>): list again and replace the cache, so that deletions made while
/// the watch was gone are seen too;</item>
/// <item>a stream the server ended, or one cut mid-way: watch again from the last version;</item>
/// <item>an API server that does not answer (or refuses): the cache keeps what it has, the list is retried after a
/// backoff that doubles up to <see cref="MaxBackoff"/>, and the health says so.</item>
/// </list>
/// Any other error the watch reports (a line that cannot be read) also lists again: an event may have been lost.
/// Every change is reported with the objects it touched (a list: its diff with the cache, deletions included), so that
/// the reader re-evaluates only those.
/// </summary>
internal sealed partial class ListWatch(
    IKubernetes client,
    WatchedKind kind,
    string? ns,
    ObjectCache cache,
    Action<IReadOnlyList<ObjectChange>> changed,
    KubernetesHealth health,
    TimeProvider time,
    ILogger logger)
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);

    /// <summary>A watch that ends sooner than this without an event counts as a failure for the backoff (no busy loop).</summary>
    private static readonly TimeSpan ShortWatch = TimeSpan.FromSeconds(1);

    public string Name => ns is null ? kind.Resource : $"{kind.Resource} in {ns}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? version = null;
        var backoff = FirstBackoff;
        var failing = false;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if (version is null)
                    {
                        var list = await kind.List(client, ns, cancellationToken).ConfigureAwait(false);
                        if (cache.Replace(list.Items.Select(KubeObject.From)) is { } listed)
                        {
                            changed(listed);
                        }

                        version = list.ResourceVersion;
                        health.Reachable(Name);
                        if (failing)
                        {
                            failing = false;
                            LogRecovered(logger, Name);
                        }
                    }

                    var (outcome, next, events) = await WatchAsync(version, cancellationToken).ConfigureAwait(false);
                    version = next;
                    health.Restarted(kind.Resource, outcome.Reason);
                    if (outcome.Relist)
                    {
                        LogRelist(logger, Name, outcome.Reason, outcome.Error?.Message ?? "410 Gone");
                        version = null;
                    }

                    if ((outcome.Relist && outcome.Reason != "gone") || (events == 0 && outcome.Elapsed < ShortWatch))
                    {
                        await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
                        backoff = Min(backoff * 2, MaxBackoff);
                    }
                    else
                    {
                        backoff = FirstBackoff;
                    }
                }
                catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
                {
                    health.Restarted(kind.Resource, "gone");
                    LogRelist(logger, Name, "gone", "410 Gone");
                    version = null;
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Unreachable, refused (RBAC), or a server error: keep what the cache has, list again after a backoff.
                    health.Unreachable(Name, Describe(e));
                    health.Restarted(kind.Resource, "error");
                    if (!failing)
                    {
                        failing = true;
                        LogFailing(logger, Name, Describe(e));
                        LogFailure(logger, Name, e);
                    }

                    version = null;
                    await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
                    backoff = Min(backoff * 2, MaxBackoff);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The session ended (shutdown, or another process became the writer).
        }
        finally
        {
            health.Forget(Name);
        }
    }

    /// <summary>One watch from <paramref name="version"/> until it ends; the version reached and why it ended.</summary>
    private async Task<(WatchOutcome Outcome, string Version, int Events)> WatchAsync(string version, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        Exception? reported = null;
        var events = 0;
        try
        {
            await foreach (var (type, item) in kind.Watch(client, ns, version, e => reported ??= e, cancellationToken).ConfigureAwait(false))
            {
                events++;
                health.Reachable(Name);
                var change = type switch
                {
                    WatchEventType.Added or WatchEventType.Modified => cache.Upsert(KubeObject.From(item)),
                    WatchEventType.Deleted => KubeObject.From(item) is var gone ? cache.Remove(gone.Namespace, gone.Name) : null,
                    _ => null,
                };
                if (change is not null)
                {
                    changed([change]);
                }

                version = KubeObject.ResourceVersionOf(item) ?? version;
            }
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Cut mid-stream: nothing after the last event is lost, the next watch starts from it.
            return (new WatchOutcome("cut", Relist: false, e, time.GetElapsedTime(started)), version, events);
        }

        var elapsed = time.GetElapsedTime(started);
        return reported switch
        {
            null => (new WatchOutcome("ended", Relist: false, null, elapsed), version, events),
            KubernetesException { Status.Code: (int)HttpStatusCode.Gone } => (new WatchOutcome("gone", Relist: true, null, elapsed), version, events),
            _ => (new WatchOutcome("error", Relist: true, reported, elapsed), version, events),
        };
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string Describe(Exception e) => e switch
    {
        HttpOperationException { Response: { } response } =>
            $"HTTP {(int)response.StatusCode} {response.StatusCode}{(string.IsNullOrWhiteSpace(response.Content) ? "" : ": " + Shorten(response.Content))}",
        _ => e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message,
    };

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private sealed record WatchOutcome(string Reason, bool Relist, Exception? Error, TimeSpan Elapsed);

    [LoggerMessage(1, LogLevel.Warning, "Kubernetes: {Watch} cannot be listed or watched ({Problem}); what was applied stays served, retrying with backoff")]
    private static partial void LogFailing(ILogger logger, string watch, string problem);

    [LoggerMessage(4, LogLevel.Debug, "Kubernetes: {Watch} failed")]
    private static partial void LogFailure(ILogger logger, string watch, Exception exception);

    [LoggerMessage(2, LogLevel.Information, "Kubernetes: {Watch} reaches the API server again")]
    private static partial void LogRecovered(ILogger logger, string watch);

    [LoggerMessage(3, LogLevel.Debug, "Kubernetes: {Watch} lists again ({Reason}: {Problem}); the new list is diffed with what was seen, deletions included")]
    private static partial void LogRelist(ILogger logger, string watch, string reason, string problem);
}
