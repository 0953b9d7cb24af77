using Microsoft.Extensions.Logging;

namespace OrleansGateway.Silo;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information,
        "Applied configuration generation {Generation} from {ConfigPath}: {Accepted} accepted, {Discarded} discarded, {Ignored} ignored; {Listeners} listener(s), {Unbound} not bound")]
    public static partial void Applied(ILogger logger, long generation, string configPath, int accepted, int discarded, int ignored, int listeners, int unbound);

    [LoggerMessage(2, LogLevel.Warning, "{Resource} is Discarded: {Reasons}")]
    public static partial void Discarded(ILogger logger, string resource, string reasons);

    [LoggerMessage(3, LogLevel.Warning, "Listener {Endpoint} could not be bound: {Error}")]
    public static partial void BindFailed(ILogger logger, string endpoint, string? error);

    [LoggerMessage(4, LogLevel.Error, "Reloading {ConfigPath} failed; still serving the previous configuration")]
    public static partial void ReloadFailed(ILogger logger, string configPath, Exception exception);

    [LoggerMessage(5, LogLevel.Debug, "Change under {ConfigPath} detected ({Trigger})")]
    public static partial void ChangeDetected(ILogger logger, string configPath, string trigger);

    [LoggerMessage(6, LogLevel.Warning, "File watcher for {ConfigPath} failed; changes are still picked up by polling every second")]
    public static partial void WatcherFailed(ILogger logger, string configPath, Exception exception);
}
