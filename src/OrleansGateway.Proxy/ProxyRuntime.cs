using Microsoft.Extensions.Logging;

namespace OrleansGateway.Proxy;

/// <summary>What every listener and connection of one <see cref="ProxyServer"/> shares; immutable after construction.</summary>
internal sealed class ProxyRuntime(
    ProxyOptions options,
    ILoggerFactory loggerFactory,
    TimeProvider time,
    IRandomSource random,
    IUpstreamResolver resolver,
    ProxyMetrics metrics)
{
    public ProxyOptions Options { get; } = options;
    public TimeProvider Time { get; } = time;
    public IRandomSource Random { get; } = random;
    public IUpstreamResolver Resolver { get; } = resolver;
    public ProxyMetrics Metrics { get; } = metrics;
    public CircuitBreakers Breakers { get; } = new();
    public OutlierDetection Outliers { get; } = new(metrics, loggerFactory.CreateLogger<ProxyServer>(), time);
    public TenantConnectionLimiter Tenants { get; } = new(metrics);
    public ILogger Log { get; } = loggerFactory.CreateLogger<ProxyServer>();
    public UpstreamGuard Guard { get; } = new(options, loggerFactory.CreateLogger<ProxyServer>(), time);
    public ConnectionLimits Limits { get; } = new(options, metrics, loggerFactory.CreateLogger<ProxyServer>(), time);
    public ILogger AccessLog { get; } = loggerFactory.CreateLogger(ProxyLog.AccessLogCategory);
}

/// <summary>The default canary picker: the thread-safe shared <see cref="System.Random"/>.</summary>
internal sealed class SharedRandomSource : IRandomSource
{
    public static readonly SharedRandomSource Instance = new();

    public double NextDouble() => System.Random.Shared.NextDouble();
}
