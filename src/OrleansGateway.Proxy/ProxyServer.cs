using Microsoft.Extensions.Logging;
using OrleansGateway.Model;

namespace OrleansGateway.Proxy;

/// <summary>
/// The data plane: binds the listeners of a plan and proxies their connections. <see cref="ApplyAsync"/> swaps
/// the plan live: unchanged listeners keep their sockets, new ones are bound, removed ones stop accepting at once
/// and drain; every established connection keeps the snapshot it started with.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    public ProxyServer(
        ProxyOptions options,
        ILoggerFactory loggerFactory,
        TimeProvider? timeProvider = null,
        IRandomSource? random = null)
    {
        _ = options;
        _ = loggerFactory;
        _ = timeProvider;
        _ = random;
    }

    /// <summary>Applies a new plan. Never throws for a bad listener: bind failures come back in the result.</summary>
    public Task<ApplyResult> ApplyAsync(GatewayPlan plan, ICertificateProvider certificates, CancellationToken cancellationToken = default)
        => throw new NotImplementedException("issue 3: data plane");

    /// <summary>The last applied bind results (for /readyz and status views).</summary>
    public ApplyResult? LastApply => null;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
