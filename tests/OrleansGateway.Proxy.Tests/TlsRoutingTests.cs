using System.Net.Security;
using System.Security.Authentication;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>TLS termination end to end: SNI routing, the route's certificate, and the route's TLS options.</summary>
public sealed class TlsRoutingTests
{
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 ExactCert = Server("a.example.com");
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 WildCert = Server("*.example.com");
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 DeepCert = Server("*.deep.example.com");
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 AnyCert = Server("any.test");
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 RawCert = Server("raw.test");

    [Theory]
    [InlineData("a.example.com", "exact")]
    [InlineData("A.Example.COM", "exact")]
    [InlineData("x.example.com", "wild")]
    [InlineData("a.b.example.com", "wild")]
    [InlineData("x.deep.example.com", "deep")]
    [InlineData("y.x.deep.example.com", "deep")]
    [InlineData("deep.example.com", "wild")]
    [InlineData("other.org", "any")]
    [InlineData(null, "any")]
    public async Task Sni_picks_exact_then_longest_wildcard_then_any_with_the_route_certificate(string? sni, string expected)
    {
        await using var exact = Named("exact");
        await using var wild = Named("wild");
        await using var deep = Named("deep");
        await using var any = Named("any");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var certs = Provider(("exact", ExactCert), ("wild", WildCert), ("deep", DeepCert), ("any", AnyCert));
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [
            Sni("*", "any", Route(Upstream(any.EndPoint, "any"))),
            Sni("*.example.com", "wild", Route(Upstream(wild.EndPoint, "wild"))),
            Sni("a.example.com", "exact", Route(Upstream(exact.EndPoint, "exact"))),
            Sni("*.deep.example.com", "deep", Route(Upstream(deep.EndPoint, "deep"))),
        ])), certs);

        using var client = await ConnectAsync(proxy.EndPointOf(listener), sni);

        Assert.Null(client.Error);
        Assert.Equal(expected, await ReadBannerAsync(client.Stream!));
        var expectedCert = expected switch { "exact" => ExactCert, "wild" => WildCert, "deep" => DeepCert, _ => AnyCert };
        Assert.Equal(expectedCert.Thumbprint, client.ServerCertificate!.Thumbprint);
        await EchoAsync(client.Stream!);
    }

    [Theory]
    [InlineData("unknown.org")]
    [InlineData(null)]
    public async Task Without_a_matching_route_the_hostless_catch_all_gets_the_raw_bytes(string? sni)
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var exact = Named("exact");
        await using var raw = TlsNamed("raw", RawCert, handshakes);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener,
            [Sni("a.example.com", "exact", Route(Upstream(exact.EndPoint, "exact")))],
            catchAll: Route(Upstream(raw.EndPoint, "raw")))), Provider(("exact", ExactCert)));

        using var client = await ConnectAsync(proxy.EndPointOf(listener), sni);

        Assert.Null(client.Error);
        Assert.Equal(RawCert.Thumbprint, client.ServerCertificate!.Thumbprint); // the upstream's own certificate
        Assert.Equal("raw", await ReadBannerAsync(client.Stream!));
        await EchoAsync(client.Stream!);
        Assert.Equal(sni ?? "", Assert.Single(handshakes).ServerName ?? "");
    }

    [Theory]
    [InlineData("unknown.org")]
    [InlineData(null)]
    public async Task Unknown_or_missing_sni_fails_the_handshake_without_a_certificate(string? sni)
    {
        await using var exact = Named("exact");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener,
            [Sni("a.example.com", "exact", Route(Upstream(exact.EndPoint, "exact")))])), Provider(("exact", ExactCert)));

        using var client = await ConnectAsync(proxy.EndPointOf(listener), sni);

        Assert.NotNull(client.Error);
        Assert.Null(client.ServerCertificate);
        Assert.Equal(0, exact.Count);
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.no_route") == 1, "no-route close counted");
    }

    [Fact]
    public async Task Half_close_crosses_the_terminated_TLS_side_in_both_directions()
    {
        await using var upstream = new TestUpstream(async s =>
        {
            var request = await Net.ReadToEndAsync(s); // the client's close_notify became a FIN
            await s.SendAsync(request.Reverse().ToArray());
            s.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("a.example.com", "exact", Route(Upstream(upstream.EndPoint)))])),
            Provider(("exact", ExactCert)));

        using var client = await ConnectAsync(proxy.EndPointOf(listener), "a.example.com");
        await client.Stream!.WriteAsync("hello"u8.ToArray(), TestContext.Current.CancellationToken);
        await client.Stream.ShutdownAsync();

        var answer = new MemoryStream();
        await client.Stream.CopyToAsync(answer, TestContext.Current.CancellationToken).WaitAsync(Net.Deadline, TestContext.Current.CancellationToken); // ends with the upstream's FIN as close_notify
        Assert.Equal("olleh"u8.ToArray(), answer.ToArray());
    }

    [Fact]
    public async Task Minimum_version_is_enforced()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener,
            [Sni("a.example.com", "exact", Route(Upstream(up.EndPoint)), Terminate("exact", min: TlsVersion.Tls13))])), Provider(("exact", ExactCert)));
        var endPoint = proxy.EndPointOf(listener);

        using (var old = await ConnectAsync(endPoint, "a.example.com", SslProtocols.Tls12))
        {
            Assert.NotNull(old.Error);
        }

        using var current = await ConnectAsync(endPoint, "a.example.com", SslProtocols.Tls13);
        Assert.Null(current.Error);
        Assert.Equal(SslProtocols.Tls13, current.Stream!.SslProtocol);
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.handshake.failures", "side=client") == 1, "handshake failure counted");
    }

    [Fact]
    public async Task Alpn_of_the_route_is_negotiated()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener,
            [Sni("a.example.com", "exact", Route(Upstream(up.EndPoint)), Terminate("exact", alpn: ["h2"]))])), Provider(("exact", ExactCert)));

        using var client = await ConnectAsync(proxy.EndPointOf(listener), "a.example.com", alpn: ["http/1.1", "h2"]);

        Assert.Null(client.Error);
        Assert.Equal(SslApplicationProtocol.Http2, client.Stream!.NegotiatedApplicationProtocol);
        Assert.Equal("up", await ReadBannerAsync(client.Stream!));
    }

    [Fact]
    public async Task A_client_whose_alpn_does_not_overlap_the_route_is_served_without_alpn()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener,
            [Sni("a.example.com", "exact", Route(Upstream(up.EndPoint)), Terminate("exact", alpn: ["h2"]))])), Provider(("exact", ExactCert)));

        using var client = await ConnectAsync(proxy.EndPointOf(listener), "a.example.com", alpn: ["imap"]);

        Assert.Null(client.Error);
        Assert.Equal(default, client.Stream!.NegotiatedApplicationProtocol);
        Assert.Equal("up", await ReadBannerAsync(client.Stream!));
    }

    [Fact]
    public async Task A_required_client_certificate_must_come_from_the_route_CA()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener,
            [Sni("a.example.com", "exact", Route(Upstream(up.EndPoint)), Terminate("exact", clientCa: "client-ca", clientCertificateRequired: true))])),
            Provider(("exact", ExactCert), CaSecret("client-ca", Ca)));
        var endPoint = proxy.EndPointOf(listener);

        using (var none = await ConnectAsync(endPoint, "a.example.com"))
        {
            await AssertRejectedAsync(none);
        }

        using (var stranger = await ConnectAsync(endPoint, "a.example.com", clientCertificate: StrangerClientCert))
        {
            await AssertRejectedAsync(stranger);
        }

        using var good = await ConnectAsync(endPoint, "a.example.com", clientCertificate: ClientCert);
        Assert.Null(good.Error);
        Assert.Equal("up", await ReadBannerAsync(good.Stream!));
        Assert.True(good.Stream!.IsMutuallyAuthenticated);
    }

    [Fact]
    public async Task A_route_whose_certificate_is_missing_is_reported_and_its_handshakes_fail_cleanly()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var result = await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [
            Sni("a.example.com", "exact", Route(Upstream(up.EndPoint, "good"))),
            Sni("b.example.com", "missing", Route(Upstream(up.EndPoint, "bad"))),
        ])), Provider(("exact", ExactCert)));

        Assert.Contains(Assert.Single(result.Listeners).Warnings, w => w.Contains("b.example.com"));
        using (var bad = await ConnectAsync(proxy.EndPointOf(listener), "b.example.com"))
        {
            Assert.NotNull(bad.Error);
            Assert.Null(bad.ServerCertificate);
        }

        using var good = await ConnectAsync(proxy.EndPointOf(listener), "a.example.com");
        Assert.Null(good.Error);
        Assert.Equal("up", await ReadBannerAsync(good.Stream!));
    }

    /// <summary>With TLS 1.3 the client may finish before the server rejects its certificate; the rejection then shows on first read.</summary>
    private static async Task AssertRejectedAsync(ClientResult result)
    {
        if (result.Error is not null)
        {
            return;
        }

        var ex = await Record.ExceptionAsync(async () =>
        {
            var n = await result.Stream!.ReadAsync(new byte[64]).AsTask().WaitAsync(Net.Deadline);
            Assert.Equal(0, n);
        });
        Assert.True(ex is null or IOException or AuthenticationException, ex?.ToString());
    }
}
