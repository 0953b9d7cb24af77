using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "Group consistency": effective values, symmetric, first by (namespace, name) is the
/// reference.
/// </summary>
public sealed class CanaryGroupTests
{
    [Fact]
    public void Mappings_with_the_same_address_port_and_host_form_one_route()
    {
        var a = Res.Tcp("a", 2222, "one:22");
        var b = Res.Tcp("b", 2222, "two:22") with { Address = "0.0.0.0" };
        var c = Res.Tcp("c", 2222, "three:22") with { Address = "127.0.0.1" };

        var result = Res.Compile(c, b, a);

        var wildcard = result.Plan.Listeners.Single(l => l.Endpoint.Address == "0.0.0.0");
        Assert.Equal("GROUP: a", wildcard.CatchAll!.Name);
        Assert.Equal([a.Ref, b.Ref], wildcard.CatchAll.Upstreams.Select(u => u.Mapping));
        var local = result.Plan.Listeners.Single(l => l.Endpoint.Address == "127.0.0.1");
        Assert.Equal([c.Ref], local.CatchAll!.Upstreams.Select(u => u.Mapping));
    }

    [Fact]
    public void Host_is_compared_case_insensitively()
    {
        var a = Res.Tcp("a", 443, "one", host: "DB.example.com");
        var b = Res.Tcp("b", 443, "two", host: "db.example.com");

        var result = Res.Compile(a, b, Res.Ctx("ctx", "cert", ["db.example.com"]), Res.TlsSecret("cert"));

        var route = Assert.Single(result.Listener(443).SniRoutes);
        Assert.Equal("db.example.com", route.Host.Text);
        Assert.Equal(2, route.Route.Upstreams.Length);
    }

    public static TheoryData<string, TcpMapping, TcpMapping> Conflicts => new()
    {
        { "idle_timeout_ms 5000; this one has 10000", Res.Tcp("a", 2222, "x") with { IdleTimeoutMs = 5000 }, Res.Tcp("b", 2222, "y") with { IdleTimeoutMs = 10000 } },
        { "idle_timeout_ms unset; this one has 10000", Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { IdleTimeoutMs = 10000 } },
        { "idle_timeout_ms 10000; this one has unset", Res.Tcp("a", 2222, "x") with { IdleTimeoutMs = 10000 }, Res.Tcp("b", 2222, "y") },

        // Unset is the gateway's default idle timeout (1 h), 0 is none: they differ.
        { "idle_timeout_ms unset; this one has 0 (none)", Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { IdleTimeoutMs = 0 } },
        { "enable_ipv6 true; this one has false", Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { EnableIpv6 = false } },
        { "enable_ipv4 false; this one has true", Res.Tcp("a", 2222, "x") with { EnableIpv4 = false }, Res.Tcp("b", 2222, "y") },
        { "circuit_breakers [max_connections 1024", Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 5 }) } },
        { "tls none; this one has TLSContext 'ctx' (namespace default)", Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { Tls = "ctx" } },
    };

    [Theory]
    [MemberData(nameof(Conflicts))]
    public void Disagreeing_member_is_discarded_naming_key_and_reference(string fragment, TcpMapping a, TcpMapping b)
    {
        var result = Res.Compile(b, Res.Ctx("ctx", null), a);

        result.AssertAccepted(a);
        result.AssertDiscarded(b, "its group (0.0.0.0:2222, no host) was started by TCPMapping 'a' (namespace default) with " + fragment,
            "Make them agree, or move one to another port or host");
        var d = result.Diagnostics.Single(d => d.Resource == b.Ref && d.Severity == Severity.Error);
        Assert.Equal(a.Ref, d.Related);
        Assert.Equal("group.conflict", d.Code);
        Assert.Equal([a.Ref], result.Listener(2222).CatchAll!.Upstreams.Select(u => u.Mapping));
    }

    public static TheoryData<TcpMapping, TcpMapping> Agreements => new()
    {
        // Unset equals its effective default: the check is symmetric, unlike Emissary's "only keys it has".
        { Res.Tcp("a", 2222, "x") with { EnableIpv6 = true }, Res.Tcp("b", 2222, "y") },
        { Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { EnableIpv6 = true } },
        { Res.Tcp("a", 2222, "x"), Res.Tcp("b", 2222, "y") with { CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 1024 }) } },
        { Res.Tcp("a", 2222, "x") with { Tls = "ctx" }, Res.Tcp("b", 2222, "y") with { Tls = "ctx.default" } },
        { Res.Tcp("a", 2222, "x") with { ConnectTimeoutMs = 1 }, Res.Tcp("b", 2222, "y") with { Resolver = "endpoint" } },
    };

    [Theory]
    [MemberData(nameof(Agreements))]
    public void Effective_values_that_agree_are_one_group(TcpMapping a, TcpMapping b)
    {
        foreach (var order in new[] { new Resource[] { a, b }, [b, a] })
        {
            var result = Res.Compile([.. order, Res.Ctx("ctx", null)]);

            result.AssertAccepted(a);
            result.AssertAccepted(b);
            Assert.Equal(2, result.Listener(2222).CatchAll!.Upstreams.Length);
        }
    }

    [Fact]
    public void Reference_is_the_first_valid_member_by_namespace_and_name()
    {
        // 'a' is invalid, so 'b' starts the group and 'c' is compared with 'b'.
        var a = Res.Tcp("a", 2222, "bad:1:2") with { IdleTimeoutMs = 1 };
        var b = Res.Tcp("b", 2222, "x") with { IdleTimeoutMs = 2 };
        var c = Res.Tcp("c", 2222, "y") with { IdleTimeoutMs = 2 };
        var d = Res.Tcp("d", 2222, "y", ns: "aaa") with { IdleTimeoutMs = 3 };

        var result = Res.Compile(c, a, b, d);

        result.AssertDiscarded(a, "too many ':'");
        result.AssertDiscarded(b, "started by TCPMapping 'd' (namespace aaa) with idle_timeout_ms 3; this one has 2");
        result.AssertDiscarded(c, "started by TCPMapping 'd' (namespace aaa)");
        result.AssertAccepted(d);
    }

    [Fact]
    public void Outlier_detection_off_and_a_health_check_reach_the_plan_without_splitting_the_group()
    {
        var a = Res.Tcp("a", 2222, "one:22") with { Weight = 50, OutlierDetection = "off" };
        var b = Res.Tcp("b", 2222, "two:22") with { Weight = 50, HealthCheck = "tcp", HealthCheckInterval = TimeSpan.FromSeconds(5) };

        var result = Res.Compile(a, b);

        result.AssertAccepted(a);
        result.AssertAccepted(b);
        var route = Assert.Single(result.Plan.Listeners).CatchAll!;
        Assert.Equal([(true, null), (false, TimeSpan.FromSeconds(5))], route.Upstreams.Select(u => (u.NoOutlierDetection, u.HealthCheckInterval)));
    }

    [Fact]
    public void A_health_check_without_an_interval_checks_every_10_s()
    {
        var a = Res.Tcp("a", 2222, "one:22") with { HealthCheck = "tcp" };

        Assert.Equal(TimeSpan.FromSeconds(10), Res.Compile(a).Upstream(a).HealthCheckInterval);
    }

    [Fact]
    public void A_plan_without_the_extensions_serializes_as_before()
    {
        var json = Res.Compile(Res.Tcp("a", 2222, "one:22")).Canonical();

        Assert.DoesNotContain("NoOutlierDetection", json, StringComparison.Ordinal);
        Assert.DoesNotContain("HealthCheckInterval", json, StringComparison.Ordinal);
    }
}
