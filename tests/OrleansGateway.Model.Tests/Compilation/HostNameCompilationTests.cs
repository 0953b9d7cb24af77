using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// The compiler reads every host name through <see cref="HostPattern"/>: TCPMapping <c>host</c>, Host <c>hostname</c>
/// and TLSContext <c>hosts</c> (docs/tcpmapping-semantics.md, "Host names").
/// </summary>
public sealed class HostNameCompilationTests
{
    [Theory]
    [InlineData("*.a.test", "*.a.test.")]
    [InlineData("*.a.test", "*.A.TEST")]
    [InlineData("*.xn--bcher-kva.test", "*.bücher.test")]
    [InlineData("shop.a.test", "SHOP.a.test.")]
    public void Spellings_of_one_name_are_one_canary_group_and_one_route(string first, string second)
    {
        var a = Res.Tcp("a", 443, "up-a", host: first) with { Weight = 70 };
        var b = Res.Tcp("b", 443, "up-b", host: second) with { Weight = 30 };

        var result = Res.Compile(a, b, Res.Host("any", "*", "cert"), Res.TlsSecret("cert"));

        var route = Assert.Single(result.Listener(443).SniRoutes);
        Assert.Equal(HostPattern.Parse(first), route.Host);
        Assert.Equal([70.0, 30.0], route.Route.Upstreams.Select(u => u.Share));
    }

    [Fact]
    public void A_host_written_in_unicode_is_the_host_of_the_same_a_label()
    {
        var wild = Res.Host("wild", "*.Bücher.test", "s-wild");
        var exact = Res.Host("exact", "shop.bücher.test", "s-exact");
        var m = Res.Tcp("m", 443, "up", host: "*.xn--bcher-kva.test.");
        var shop = Res.Tcp("shop", 443, "up", host: "SHOP.XN--BCHER-KVA.TEST");

        var result = Res.Compile(wild, exact, m, shop, Res.TlsSecret("s-wild"), Res.TlsSecret("s-exact"));

        var routes = result.Listener(443).SniRoutes;
        Assert.Equal(["shop.xn--bcher-kva.test", "*.xn--bcher-kva.test"], routes.Select(r => r.Host.Text));
        Assert.Equal([exact.Ref, wild.Ref], routes.Select(r => r.Termination!.CertificateSource));
    }

    [Fact]
    public void A_tls_context_lists_a_host_in_any_spelling()
    {
        var m = Res.Tcp("m", 443, "up", host: "shop.a.test");

        var result = Res.Compile(m, Res.Ctx("ctx", "cert", ["Shop.A.Test."]), Res.TlsSecret("cert"));

        Assert.Equal(new ResourceRef("TLSContext", "default", "ctx"), Assert.Single(result.Listener(443).SniRoutes).Termination!.CertificateSource);
    }

    [Theory]
    [InlineData("*.example.*", "hostname '*.example.*' has '*' somewhere other than as the whole leftmost label")]
    [InlineData("example.com:8443", "hostname 'example.com:8443' contains ':' (a port?)")]
    [InlineData("*example.com", "hostname '*example.com' has '*' somewhere other than as the whole leftmost label")]
    [InlineData("a b", "hostname 'a b' contains whitespace")]
    public void A_host_with_a_bad_hostname_is_discarded_naming_the_field(string hostname, string message)
    {
        var withTls = Res.Host("with-tls", hostname, "cert");
        var withoutTls = Res.Host("without-tls", hostname, null);
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(withTls, withoutTls, m, Res.TlsSecret("cert"));

        foreach (var host in new[] { withTls, withoutTls })
        {
            result.AssertDiscarded(host, message);
            var diagnostic = result.Diagnostics.Single(d => d.Resource == host.Ref);
            Assert.Equal(("host.hostname", "spec.hostname"), (diagnostic.Code, diagnostic.Field));
        }

        result.AssertDiscarded(m, "no Host or TLSContext provides a certificate for host db.example.com");
    }

    [Fact]
    public void A_tls_context_with_a_bad_hosts_entry_is_discarded_naming_the_entry()
    {
        var ctx = Res.Ctx("ctx", "cert", ["ok.example.com", "bad_name.example.com"]);
        var m = Res.Tcp("m", 443, "up", host: "ok.example.com");

        var result = Res.Compile(ctx, m, Res.TlsSecret("cert"));

        result.AssertDiscarded(ctx, "hosts entry 'bad_name.example.com' has '_' in the label 'bad_name'");
        var diagnostic = result.Diagnostics.Single(d => d.Resource == ctx.Ref);
        Assert.Equal(("tlscontext.hosts", "spec.hosts[1]"), (diagnostic.Code, diagnostic.Field));
        result.AssertDiscarded(m, $"{ctx.Ref} would provide the certificate for host ok.example.com, but it is itself discarded");
    }

    /// <summary>The indexed Host lookup must agree with the pairwise overlap for every mapping host.</summary>
    [Fact]
    public void Indexed_host_lookup_agrees_with_the_overlap_test()
    {
        string[] hostnames = ["*", "*.example.com", "*.a.example.com", "a.example.com", "*.com", "b.example.org", "x.y.example.com", "*.y.example.com"];
        string[] mappingHosts = ["a.example.com", "b.example.com", "example.com", "a.example.org", "x.com", "b.example.org", "x.y.example.com",
            "z.x.y.example.com", "*.example.com", "*.y.example.com", "*.org", "*"];
        var entries = hostnames.Select((h, i) => new ResourceEntry(Res.Host("h" + i, h, "cert"))).ToList();
        var secrets = SecretCatalog.Build([new ResourceEntry(Res.TlsSecret("cert"))], false, CompileOptions.DefaultTenant);
        var catalog = HostCatalog.Build(entries, TlsContextCatalog.Build([], secrets), secrets);

        foreach (var mappingHost in mappingHosts.Select(HostPattern.Parse))
        {
            var indexed = catalog.Matching(mappingHost).Select(h => h.Hostname.Text).Order(StringComparer.Ordinal);
            var scanned = hostnames.Select(HostPattern.Parse).Where(h => h.Overlaps(mappingHost)).Select(h => h.Text).Order(StringComparer.Ordinal);
            Assert.Equal(scanned, indexed);
        }
    }
}
