using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// SNI passthrough in the compiler (docs/tcpmapping-semantics.md, "SNI passthrough"): a TCPMapping with <c>host</c>
/// annotated <c>orleansgateway.io/tls-passthrough: "true"</c> is an SNI route without termination, needs no Host,
/// TLSContext or Secret, shares its port with terminated hosts, and its canary group agrees on passthrough.
/// </summary>
public sealed class PassthroughCompilationTests
{
    [Fact]
    public void A_passthrough_mapping_is_an_sni_route_without_termination_and_needs_no_certificate()
    {
        var db = Res.Tcp("db", 443, "db:5432", host: "DB.example.com") with { TlsPassthrough = true };

        var result = Res.Compile(db);

        result.AssertAccepted(db);
        var listener = result.Listener(443);
        Assert.True(listener.TlsInspected);
        var route = Assert.Single(listener.SniRoutes);
        Assert.Equal(HostPattern.Parse("db.example.com"), route.Host);
        Assert.Null(route.Termination);
        Assert.True(route.Passthrough);
        Assert.Empty(OrleansGateway.Model.Plan.PlanSecrets.SecretUses(listener));
    }

    [Fact]
    public void Passthrough_and_terminated_hosts_share_a_port()
    {
        var db = Res.Tcp("db", 443, "db:5432", host: "db.example.com") with { TlsPassthrough = true };
        var shop = Res.Tcp("shop", 443, "shop:80", host: "shop.example.com");

        var result = Res.Compile(db, shop, Res.Host("shop-host", "shop.example.com", "cert"), Res.TlsSecret("cert"));

        result.AssertAccepted(db);
        result.AssertAccepted(shop);
        var routes = result.Listener(443).SniRoutes;
        Assert.Equal(2, routes.Length);
        Assert.True(routes.Single(r => r.Host.Text == "db.example.com").Passthrough);
        Assert.Equal(new ResourceRef("Host", "default", "shop-host"), routes.Single(r => r.Host.Text == "shop.example.com").Termination!.CertificateSource);
    }

    [Fact]
    public void A_terminated_member_does_not_join_a_passthrough_group()
    {
        var a = Res.Tcp("a", 443, "a:5432", host: "db.example.com") with { TlsPassthrough = true, Weight = 50 };
        var b = Res.Tcp("b", 443, "b:5432", host: "db.example.com") with { Weight = 50 };

        var result = Res.Compile(a, b, Res.Host("h", "db.example.com", "cert"), Res.TlsSecret("cert"));

        result.AssertAccepted(a);
        result.AssertDiscarded(b, "orleansgateway.io/tls-passthrough");
        Assert.True(Assert.Single(result.Listener(443).SniRoutes).Passthrough);
    }

    [Fact]
    public void A_passthrough_host_on_a_listener_without_tls_is_discarded_naming_the_listener()
    {
        var listener = Res.Listener("plain", 443, "TCP");
        var db = Res.Tcp("db", 443, "db:5432", host: "db.example.com") with { TlsPassthrough = true };

        var result = Res.Compile(listener, db);

        result.AssertDiscarded(db, "without TLS", "plain");
    }
}
