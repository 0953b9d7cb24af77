using OrleansGateway.Certificates.Development;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>TLS towards the upstream: plain <c>https://</c>, and client certificate + SNI + CA verification.</summary>
public sealed class TlsOriginationTests
{
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 UpstreamCert = Server("upstream.test");
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 FrontCert = Server("front.test");
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 SelfSignedCert =
        DevCertificates.CreateSelfSignedServer(["self.test"]);

    [Fact]
    public async Task Https_without_client_certificate_reaches_a_TLS_upstream_from_a_cleartext_client()
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var upstream = TlsNamed("secure", SelfSignedCert, handshakes);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "https", origination: Originate())))));

        using var client = await proxy.ConnectAsync(listener);
        using var stream = new System.Net.Sockets.NetworkStream(client);

        Assert.Equal("secure", await ReadBannerAsync(stream));
        await EchoAsync(stream);
        Assert.Null(Assert.Single(handshakes).ClientCertificate);
    }

    [Fact]
    public async Task Client_certificate_sni_and_ca_verification_with_termination_in_front()
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var upstream = TlsNamed("mtls", UpstreamCert, handshakes, requireClientCertificateFrom: Ca);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var certs = Provider(("front", FrontCert), ("client", ClientCert), CaSecret("upstream-ca", Ca));
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [
            Sni("front.test", "front", Route(Upstream(upstream.EndPoint, "mtls",
                origination: Originate(clientSecret: "client", sni: "upstream.test", trustedCa: "upstream-ca")))),
        ])), certs);

        using var client = await ConnectAsync(proxy.EndPointOf(listener), "front.test");

        Assert.Null(client.Error);
        Assert.Equal(FrontCert.Thumbprint, client.ServerCertificate!.Thumbprint);
        Assert.Equal("mtls", await ReadBannerAsync(client.Stream!));
        await EchoAsync(client.Stream!);
        var seen = Assert.Single(handshakes);
        Assert.Equal("upstream.test", seen.ServerName);
        Assert.Equal(ClientCert.Thumbprint, seen.ClientCertificate!.Thumbprint);
    }

    [Fact]
    public async Task Client_certificate_sni_and_ca_verification_without_termination()
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var upstream = TlsNamed("mtls", UpstreamCert, handshakes, requireClientCertificateFrom: Ca);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "mtls",
            origination: Originate(clientSecret: "client", sni: "upstream.test", trustedCa: "upstream-ca"))))),
            Provider(("client", ClientCert), CaSecret("upstream-ca", Ca)));

        using var client = await proxy.ConnectAsync(listener);
        using var stream = new System.Net.Sockets.NetworkStream(client);

        Assert.Equal("mtls", await ReadBannerAsync(stream));
        await EchoAsync(stream);
        Assert.Equal("upstream.test", Assert.Single(handshakes).ServerName);
    }

    [Fact]
    public async Task An_upstream_certificate_from_the_wrong_CA_closes_the_client()
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var upstream = TlsNamed("mtls", UpstreamCert, handshakes);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "wrong-ca",
            origination: Originate(sni: "upstream.test", trustedCa: "other-ca"))))),
            Provider(CaSecret("other-ca", OtherCa)));

        using var client = await proxy.ConnectAsync(listener);

        Assert.Equal("eof", await Net.ObserveEndAsync(client)); // the upstream's banner never reaches the client
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.handshake.failures", "side=upstream") == 1, "upstream handshake failure counted");
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains("reason=UpstreamHandshakeFailed")), "logged");
    }
}
