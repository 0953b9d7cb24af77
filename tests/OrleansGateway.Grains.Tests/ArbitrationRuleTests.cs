using System.Text.Json;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Tests;

/// <summary>The arbiter's rules on claims, without a cluster (the cluster tests prove them end to end), and the grain keys.</summary>
public sealed class ArbitrationRuleTests
{
    /// <summary>
    /// Issue 12's attack: tenant B writes a name tenant A already routes in another spelling (trailing dot, case, IDN
    /// as Unicode or as A-label), or a name A's glob covers. The pattern rules themselves are tabled in
    /// tests/OrleansGateway.Model.Tests/Hosts/HostPatternTests.cs; here the arbiter applies them to claims.
    /// </summary>
    [Theory]
    [InlineData("*.a.test", "*.a.test.")]
    [InlineData("*.a.test", "*.A.TEST")]
    [InlineData("*.xn--bcher-kva.test", "*.bücher.test")]
    [InlineData("*.bücher.test", "*.XN--BCHER-KVA.TEST.")]
    [InlineData("*.a.test", "shop.a.test.")]
    [InlineData("shop.a.test", "*.a.test")]
    [InlineData("shop.a.test", "SHOP.A.TEST.")]
    [InlineData("*.a.test", "*.deep.a.test")]
    [InlineData("*", "b.test")]
    [InlineData("b.test", "*")]
    public void A_second_tenants_overlapping_name_is_refused_in_any_spelling(string first, string second)
    {
        var a = Claim("tenant-a", first);
        var b = Claim("tenant-b", second);

        var accepted = ListenerArbiter.Arbitrate(b, [a], out var refused);

        Assert.Null(accepted);
        var refusal = Assert.Single(refused);
        Assert.Equal("tenant-b", refusal.Mapping.Name);
        Assert.Contains($"host {HostPattern.Parse(second)} on 0.0.0.0:8443 overlaps a name another tenant already routes", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tenant-a", refusal.Message, StringComparison.Ordinal);
        Assert.Equal([HostPattern.Parse(first)], ListenerArbiter.Merge([a, b])!.SniRoutes.Select(r => r.Host));
    }

    [Fact]
    public void Names_no_other_tenant_routes_are_accepted_beside_the_refused_ones()
    {
        var a = Claim("tenant-a", "*.a.test");
        var b = Claim("tenant-b", "shop.a.test.", "b.test", "*.b.test");

        var accepted = ListenerArbiter.Arbitrate(b, [a], out var refused);

        Assert.Equal(["b.test", "*.b.test"], accepted!.SniRoutes.Select(r => r.Host.Text));
        Assert.Single(refused);
        Assert.Equal(["b.test", "*.a.test", "*.b.test"], ListenerArbiter.Merge([a, accepted])!.SniRoutes.Select(r => r.Host.Text));
    }

    /// <summary>
    /// Claims stored before names were canonical may overlap once read back (B's <c>shop.a.test.</c> beside A's
    /// <c>*.a.test</c>): the merge arbitrates them again, so the earlier claim keeps its clients.
    /// </summary>
    [Fact]
    public void Merge_never_serves_a_later_claim_that_overlaps_an_earlier_one()
    {
        var stored = JsonSerializer.Serialize(Claim("tenant-b", "placeholder.test")).Replace("placeholder.test", "shop.a.test.", StringComparison.Ordinal);
        var legacy = JsonSerializer.Deserialize<ListenerPlan>(stored)!;
        Assert.Equal("shop.a.test", legacy.SniRoutes[0].Host.Text);

        var merged = ListenerArbiter.Merge([Claim("tenant-a", "*.a.test"), legacy, Claim("tenant-c", "c.test")])!;

        Assert.Equal(["c.test", "*.a.test"], merged.SniRoutes.Select(r => r.Host.Text));
        Assert.DoesNotContain(merged.SniRoutes, r => r.Route.Upstreams.Any(u => u.Tenant == "tenant-b"));
    }

    /// <summary>A TLS claim of one tenant on port 8443 with one route per host; mappings are named after the tenant.</summary>
    private static ListenerPlan Claim(string tenant, params string[] hosts)
    {
        var termination = new TlsTermination(new ResourceRef("Host", "default", tenant), new SecretRef("default", "tls") { Tenant = tenant },
            null, null, [], [], null, false);
        var routes = hosts.Select(h => new SniRoute(HostPattern.Parse(h), termination, new RoutePlan("GROUP: " + tenant, [Upstream(tenant)])));
        return new ListenerPlan(new ListenerEndpoint("0.0.0.0", 8443), "listener-0.0.0.0-8443", null, true, "ingress_tls_8443", [.. routes], null,
            [new ResourceRef("TCPMapping", "default", tenant)]);
    }

    private static UpstreamPlan Upstream(string tenant) => new(new ResourceRef("TCPMapping", "default", tenant), tenant, tenant, tenant + "-upstream:443",
        new ServiceAddress("", tenant + "-upstream", 443, false), 100, null, ResolverPlan.KubernetesService, true, true, CircuitBreakerPlan.Default,
        null, TimeSpan.FromSeconds(3), tenant);

    [Theory]
    [InlineData("default", "0.0.0.0", 8443, "default/0.0.0.0:8443")]
    [InlineData("edge-b", "::", 22, "edge-b/[::]:22")]
    [InlineData("x", "fe80::1", 65535, "x/[fe80::1]:65535")]
    public void Listener_keys_round_trip(string ambassadorId, string address, int port, string expected)
    {
        var key = ListenerKey.For(ambassadorId, new ListenerEndpoint(address, port));
        Assert.Equal(expected, key.Value);
        Assert.Equal(key, ListenerKey.Parse(key.Value));
    }

    [Theory]
    [InlineData("no-slash:80")]
    [InlineData("id/0.0.0.0")]
    [InlineData("id/0.0.0.0:http")]
    [InlineData("/0.0.0.0:80")]
    public void Malformed_listener_keys_are_refused(string key) => Assert.Throws<FormatException>(() => ListenerKey.Parse(key));

    [Fact]
    public void Certificate_keys_carry_the_tenant_and_round_trip()
    {
        var secret = new SecretRef("ns", "tls") { Tenant = "tenant-a" };
        Assert.Equal("tenant-a/ns/tls", CertificateKey.For(secret));
        Assert.Equal(secret, CertificateKey.Parse(CertificateKey.For(secret)));
        Assert.NotEqual(secret, secret with { Tenant = "tenant-b" });
        Assert.Throws<ArgumentException>(() => CertificateKey.For(secret with { Tenant = "a/b" }));
    }
}
