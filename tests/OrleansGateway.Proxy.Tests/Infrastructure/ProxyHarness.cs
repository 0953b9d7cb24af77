using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

/// <summary>
/// The relay engine these tests run against. The same test sources are compiled twice, as Kestrel compiles its
/// functional tests once per transport: OrleansGateway.Proxy.Tests runs them on the native engine (the default),
/// OrleansGateway.Proxy.Tests.ManagedEngine (MANAGED_ENGINE defined) on the managed one.
/// </summary>
internal static class TestEngine
{
#if MANAGED_ENGINE
    public const RelayEngine Current = RelayEngine.Managed;
#else
    public const RelayEngine Current = RelayEngine.Native;
#endif

    /// <summary>Whether the native engine really runs (Linux); elsewhere the server falls back to the managed one.</summary>
    public static bool Native => Current == RelayEngine.Native && OrleansGateway.Proxy.Native.NativeEngine.Unavailable() is null;
}

/// <summary>A real <see cref="ProxyServer"/> on <see cref="TestEngine.Current"/> with collected metrics and logs, and optionally fake time.</summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    private readonly TestMeterFactory _meters = new();

    public ProxyHarness(ProxyOptions? options = null, FakeTimeProvider? time = null, IRandomSource? random = null, IUpstreamResolver? resolver = null)
    {
        Time = time;
        Metrics = new MetricCollector(_meters);
        Server = new ProxyServer((options ?? new ProxyOptions()) with { RelayEngine = TestEngine.Current }, Logs, time, random, resolver, _meters);
    }

    public ProxyServer Server { get; }
    public FakeTimeProvider? Time { get; }
    public MetricCollector Metrics { get; }
    public ListLoggerFactory Logs { get; } = new();

    public Task<ApplyResult> ApplyAsync(GatewayPlan plan, ICertificateProvider? certificates = null)
        => Server.ApplyAsync(plan, certificates ?? NoCertificates.Instance);

    /// <summary>Applies and asserts every listener bound.</summary>
    public async Task<ApplyResult> ApplyBoundAsync(GatewayPlan plan, ICertificateProvider? certificates = null)
    {
        var result = await ApplyAsync(plan, certificates);
        Assert.All(result.Listeners, l => Assert.True(l.Bound, l.Error));
        return result;
    }

    public IPEndPoint EndPointOf(ListenerEndpoint endpoint)
        => Server.GetLocalEndPoint(endpoint) ?? throw new InvalidOperationException($"{endpoint} is not bound");

    public Task<System.Net.Sockets.Socket> ConnectAsync(ListenerEndpoint endpoint) => Net.ConnectAsync(EndPointOf(endpoint));

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Metrics.Dispose();
        _meters.Dispose();
    }
}

internal sealed class NoCertificates : ICertificateProvider
{
    public static readonly NoCertificates Instance = new();

    public X509Certificate2? GetCertificate(SecretRef secret) => null;

    public X509Certificate2Collection GetChain(SecretRef secret) => [];

    public X509Certificate2Collection? GetCaCertificates(SecretRef secret) => null;
}

/// <summary>A seeded, thread-safe random source.</summary>
internal sealed class SeededRandom(int seed) : IRandomSource
{
    private readonly Random _random = new(seed);

    public double NextDouble()
    {
        lock (_random)
        {
            return _random.NextDouble();
        }
    }
}
