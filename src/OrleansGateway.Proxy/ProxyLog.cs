using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Proxy;

/// <summary>Log messages of the data plane (source-generated, no formatting when the level is off).</summary>
internal static partial class ProxyLog
{
    /// <summary>Category of the one-line-per-connection access log.</summary>
    public const string AccessLogCategory = "OrleansGateway.AccessLog";

    [LoggerMessage(EventId = 100, Level = LogLevel.Information,
        Message = "listener={Listener} mapping={Mapping} tenant={Tenant} client={Client} sni={Sni} upstream={Upstream} bytes_up={BytesUp} bytes_down={BytesDown} duration_ms={DurationMs} reason={Reason}")]
    public static partial void Access(ILogger logger, string listener, string mapping, string tenant, string client, string sni,
        string upstream, long bytesUp, long bytesDown, long durationMs, CloseReason reason);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on {Endpoint} ({Listener})")]
    public static partial void Listening(ILogger logger, string endpoint, string listener);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Listener {Listener} on {Endpoint} not bound: {Error}")]
    public static partial void BindFailed(ILogger logger, string listener, string endpoint, string error);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Listener on {Endpoint} removed: it accepts no more connections; {Active} open connections drain for at most {DrainTimeout}")]
    public static partial void Draining(ILogger logger, string endpoint, int active, TimeSpan drainTimeout);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Accept on {Endpoint} failed ({Error}); retrying in {Delay}")]
    public static partial void AcceptFailed(ILogger logger, string endpoint, SocketError error, TimeSpan delay);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Listener on {Endpoint}: {Warning}")]
    public static partial void RouteWarning(ILogger logger, string endpoint, string warning);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Plan generation {Generation} applied: {Bound} listeners bound, {Failed} failed, {Removed} removed, {Unchanged} unchanged")]
    public static partial void Applied(ILogger logger, long generation, int bound, int failed, int removed, int unchanged);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Connection from {Client} on {Endpoint}: {Reason}: {Detail}")]
    public static partial void ConnectionProblem(ILogger logger, string client, string endpoint, CloseReason reason, string detail);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning,
        Message = "Mapping {Mapping} of tenant {Tenant} targets {EndPoint}, {Why}: not connected ({HeldBack} more refusal(s) of this mapping not logged in the last minute)")]
    public static partial void UpstreamForbidden(ILogger logger, string mapping, string tenant, string endPoint, string why, int heldBack);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Relay engine: {Engine}")]
    public static partial void Engine(ILogger logger, string engine);

    [LoggerMessage(EventId = 11, Level = LogLevel.Critical, Message = "Relay event loop {Loop} stopped: {Reason}; its connections are closed")]
    public static partial void LoopFailed(ILogger logger, int loop, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Relay event loop {Loop}: a listening socket's accept failed unexpectedly; it keeps accepting")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, int loop);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning,
        Message = "Refused {Count} connection(s) at {Option} {Limit} (latest on {Endpoint} from {Source}); at most one such line per {Interval}")]
    public static partial void LimitRefused(ILogger logger, long count, string option, int limit, string endpoint, string source, TimeSpan interval);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning,
        Message = "Canary member {Mapping} of tenant {Tenant} ({Service}) on {Endpoint} host {Host} ejected {Length}: {Why}; its share goes to the other members")]
    public static partial void MemberEjected(ILogger logger, string mapping, string tenant, string service, string endpoint, string host, string length, string why);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Canary member {Mapping} of tenant {Tenant} on {Endpoint} host {Host} is back in its group: {Why}")]
    public static partial void MemberRestored(ILogger logger, string mapping, string tenant, string endpoint, string host, string why);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Connection from {Client} on {Endpoint} failed unexpectedly")]
    public static partial void ConnectionCrashed(ILogger logger, Exception exception, string client, string endpoint);
}
