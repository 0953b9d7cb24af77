using System.Globalization;
using BenchmarkDotNet.Attributes;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy;

namespace OrleansGateway.Bench.Sni;

/// <summary>
/// <see cref="SniRouter.Find"/> on a listener with <see cref="Routes"/> SNI routes: nine in ten exact names, one in
/// ten wildcards (<c>*.zone-N.example.com</c>), plus <c>*</c>. The cost must not grow with the number of routes and
/// a lookup must not allocate.
/// </summary>
[MemoryDiagnoser]
public class SniLookupBenchmarks
{
    private SniRouter _router = null!;
    private string _exact = null!;
    private string _wildcard = null!;
    private string _miss = null!;

    [Params(10, 1_000, 10_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        RouteEntry exact = Route("exact"), wildcard = Route("wildcard"), any = Route("any");
        var routes = new List<(HostPattern, RouteEntry)>(Routes + 1);
        for (var i = 0; i < Routes; i++)
        {
            routes.Add(i % 10 == 9
                ? (HostPattern.Parse(Invariant($"*.zone-{i}.example.com")), wildcard)
                : (HostPattern.Parse(Invariant($"host-{i}.example.com")), exact));
        }

        routes.Add((HostPattern.Any, any));
        _router = new SniRouter(routes);

        // Names as a client sends them (mixed case), taken from the end of the table; the wildcard hit is three
        // labels below its pattern, so the walk tries three suffixes before it matches.
        _exact = Invariant($"Host-{Routes - 2}.Example.com");
        _wildcard = Invariant($"a.b.c.zone-{Routes / 10 * 10 - 1}.example.com");
        _miss = "db.unknown-tenant.example.org";
        if (_router.Find(_exact) != exact || _router.Find(_wildcard) != wildcard || _router.Find(_miss) != any)
        {
            throw new InvalidOperationException($"the benchmark names do not hit their routes: {_exact}, {_wildcard}, {_miss}");
        }
    }

    [Benchmark(Baseline = true)]
    public object? ExactHit() => _router.Find(_exact);

    [Benchmark]
    public object? WildcardHitThreeLabelsDeep() => _router.Find(_wildcard);

    [Benchmark]
    public object? MissToAny() => _router.Find(_miss);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static RouteEntry Route(string name)
    {
        var target = new ServiceAddress("", "127.0.0.1", 9000, IsIpLiteral: true);
        var upstream = new UpstreamPlan(new ResourceRef("TCPMapping", "default", name), "bench", name, "127.0.0.1:9000", target, 100, null,
            ResolverPlan.KubernetesService, true, true, CircuitBreakerPlan.Default, null, TimeSpan.FromSeconds(3), name);
        return RouteEntry.Build(new RoutePlan("GROUP: " + name, [upstream]), null, null, null, "bench", NoCertificates.Instance,
            new CircuitBreakers(), System.Collections.Immutable.ImmutableArray.CreateBuilder<string>());
    }

    /// <summary>Cleartext routes need no certificates; the lookup never touches them.</summary>
    private sealed class NoCertificates : ICertificateProvider
    {
        public static readonly NoCertificates Instance = new();

        public System.Security.Cryptography.X509Certificates.X509Certificate2? GetCertificate(SecretRef secret) => null;

        public System.Security.Cryptography.X509Certificates.X509Certificate2Collection GetChain(SecretRef secret) => [];

        public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? GetCaCertificates(SecretRef secret) => null;
    }
}
