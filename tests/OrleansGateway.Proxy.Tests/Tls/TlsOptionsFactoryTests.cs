using System.Collections.Immutable;
using System.Net.Security;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Certificates;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy.Tests.Tls;

// CipherSuitesPolicy (cipher_suites) is OpenSSL-only; these tests run on Linux like the gateway.
[UnsupportedOSPlatform("windows")]
public sealed class TlsOptionsFactoryTests
{
    private static readonly ResourceRef Host = new("Host", "ns", "web");
    private static readonly ResourceRef Context = new("TLSContext", "ns", "upstream");
    private static readonly SecretRef ServerSecret = new("ns", "server");
    private static readonly SecretRef RsaSecret = new("ns", "rsa-server");
    private static readonly SecretRef ClientSecret = new("ns", "client");
    private static readonly SecretRef CaSecret = new("ns", "ca");
    private static readonly SecretRef OtherCaSecret = new("ns", "other-ca");

    private static readonly SecretCertificateProvider Certs = SecretCertificateProvider.FromSecrets(
        [
            DevCertificates.ToSecret("server", "ns", TestPki.Server),
            DevCertificates.ToSecret("rsa-server", "ns", TestPki.RsaServer),
            DevCertificates.ToSecret("client", "ns", TestPki.Client),
            new SecretResource { Name = "ca", Namespace = "ns", CaCrt = DevCertificates.ToPem(TestPki.Ca) },
            new SecretResource { Name = "other-ca", Namespace = "ns", CaCrt = DevCertificates.ToPem(TestPki.OtherCa) },
        ],
        out _);

    private static TlsTermination Termination(
        TlsVersion? min = null, TlsVersion? max = null, string[]? ciphers = null, string[]? alpn = null,
        SecretRef? clientCa = null, bool required = false, SecretRef? certificate = null)
        => new(Host, certificate ?? ServerSecret, min, max, [.. ciphers ?? []], [.. alpn ?? []], clientCa, required);

    private static TlsOrigination Origination(
        string? sni = null, SecretRef? trustedCa = null, SecretRef? clientCertificate = null, TlsVersion? max = null, string[]? alpn = null)
        => new(Context, clientCertificate, sni, trustedCa, null, max, [], [.. alpn ?? []]);

    private static SslServerAuthenticationOptions Serve(TlsTermination t)
    {
        var options = TlsOptionsFactory.ForTermination(t, Certs, out var error);
        Assert.Null(error);
        return Assert.IsType<SslServerAuthenticationOptions>(options);
    }

    private static SslClientAuthenticationOptions Originate(TlsOrigination o)
    {
        var options = TlsOptionsFactory.ForOrigination(o, Certs, out var error);
        Assert.Null(error);
        return Assert.IsType<SslClientAuthenticationOptions>(options);
    }

    /// <summary>A test client that trusts any server (the tests look at what the server does).</summary>
    private static SslClientAuthenticationOptions Client(
        SslProtocols protocols = SslProtocols.None, X509Certificate2? certificate = null, string[]? alpn = null, TlsCipherSuite[]? ciphers = null)
        => new()
        {
            TargetHost = "server.test",
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ClientCertificates = certificate is null ? null : [certificate],
            ApplicationProtocols = alpn?.Select(a => new SslApplicationProtocol(a)).ToList(),
            CipherSuitesPolicy = ciphers is null ? null : new CipherSuitesPolicy(ciphers),
        };

    /// <summary>A test upstream serving <paramref name="certificate"/>.</summary>
    private static SslServerAuthenticationOptions Upstream(X509Certificate2 certificate, bool askClientCertificate = false, string[]? alpn = null)
        => new()
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = askClientCertificate,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = alpn?.Select(a => new SslApplicationProtocol(a)).ToList(),
        };

    [Fact]
    public async Task Terminates_with_the_secret_certificate()
    {
        await using var tls = await TlsLoopback.HandshakeAsync(Client(), Serve(Termination()));

        await tls.AssertConnectedAsync();
        Assert.Equal(TestPki.Server.Thumbprint, tls.Client.RemoteCertificate!.GetCertHashString());
    }

    [Fact]
    public async Task Version_pinned_to_tls12_refuses_a_tls13_only_client()
    {
        var serve = Serve(Termination(TlsVersion.Tls12, TlsVersion.Tls12));

        await using (var refused = await TlsLoopback.HandshakeAsync(Client(SslProtocols.Tls13), serve))
        {
            Assert.NotNull(refused.ServerError);
            refused.AssertClientRefused();
        }

        await using var accepted = await TlsLoopback.HandshakeAsync(Client(SslProtocols.Tls12 | SslProtocols.Tls13), serve);
        await accepted.AssertConnectedAsync();
        Assert.Equal(SslProtocols.Tls12, accepted.Server.SslProtocol);
    }

    [Fact]
    public async Task Version_pinned_to_tls13_works_with_a_tls13_client()
    {
        await using var tls = await TlsLoopback.HandshakeAsync(Client(SslProtocols.Tls13), Serve(Termination(TlsVersion.Tls13, TlsVersion.Tls13)));

        await tls.AssertConnectedAsync();
        Assert.Equal(SslProtocols.Tls13, tls.Server.SslProtocol);
    }

    [Theory]
    [InlineData("ECDHE-ECDSA-AES256-GCM-SHA384")]
    [InlineData("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")]
    [InlineData("[ECDHE-ECDSA-AES256-GCM-SHA384|ECDHE-ECDSA-CHACHA20-POLY1305]")]
    public async Task Tls12_negotiates_the_named_cipher_suite(string name)
    {
        var serve = Serve(Termination(max: TlsVersion.Tls12, ciphers: [name]));

        await using var tls = await TlsLoopback.HandshakeAsync(Client(SslProtocols.Tls12), serve);

        await tls.AssertConnectedAsync();
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.Server.NegotiatedCipherSuite);
    }

    [Fact]
    public async Task Cipher_restriction_refuses_a_client_without_that_suite_but_keeps_tls13()
    {
        var serve = Serve(Termination(ciphers: ["ECDHE-RSA-AES256-GCM-SHA384"], certificate: RsaSecret));

        await using (var refused = await TlsLoopback.HandshakeAsync(
            Client(SslProtocols.Tls12, ciphers: [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]), serve))
        {
            refused.AssertClientRefused();
        }

        await using (var tls12 = await TlsLoopback.HandshakeAsync(Client(SslProtocols.Tls12), serve))
        {
            await tls12.AssertConnectedAsync();
            Assert.Equal(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls12.Server.NegotiatedCipherSuite);
        }

        // Like Envoy, cipher_suites does not touch TLS 1.3.
        await using var tls13 = await TlsLoopback.HandshakeAsync(Client(SslProtocols.Tls13), serve);
        await tls13.AssertConnectedAsync();
    }

    [Theory]
    [InlineData("ECDHE-RSA-AES128-GCM-SHA999")]
    [InlineData("TLS_NOT_A_SUITE")]
    [InlineData("49199")]
    [InlineData("TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384")]
    public void Unknown_cipher_name_is_an_error_naming_it_and_the_resource(string name)
    {
        var options = TlsOptionsFactory.ForTermination(Termination(ciphers: [name]), Certs, out var error);

        Assert.Null(options);
        Assert.Contains($"'{name}'", error);
        Assert.Contains("Host 'web' (namespace ns)", error);
    }

    [Theory]
    [InlineData("ecdhe-rsa-aes128-gcm-sha256", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)]
    [InlineData("AES256-SHA", TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA)]
    [InlineData("TLS_AES_128_GCM_SHA256", TlsCipherSuite.TLS_AES_128_GCM_SHA256)]
    [InlineData(" TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)]
    public void Cipher_names_map_from_openssl_and_iana(string name, TlsCipherSuite expected)
    {
        Assert.True(TlsOptionsFactory.TryParseCipherSuite(name, out var suite));
        Assert.Equal(expected, suite);
    }

    [Fact]
    public async Task Alpn_is_negotiated()
    {
        var serve = Serve(Termination(alpn: ["h2", "http/1.1"]));

        await using var tls = await TlsLoopback.HandshakeAsync(Client(alpn: ["http/1.1"]), serve);

        await tls.AssertConnectedAsync();
        Assert.Equal(SslApplicationProtocol.Http11, tls.Client.NegotiatedApplicationProtocol);
        Assert.Equal(SslApplicationProtocol.Http11, tls.Server.NegotiatedApplicationProtocol);
    }

    [Fact]
    public async Task Alpn_configured_but_client_offers_none_still_connects()
    {
        await using var tls = await TlsLoopback.HandshakeAsync(Client(), Serve(Termination(alpn: ["h2"])));

        await tls.AssertConnectedAsync();
        Assert.Equal(default, tls.Server.NegotiatedApplicationProtocol);
    }

    [Fact]
    public async Task Alpn_without_overlap_fails_in_dotnet_but_not_through_ForClientHello()
    {
        var serve = Serve(Termination(alpn: ["h2"]));
        var hello = new ClientHelloInfo("server.test", ["spdy/3"], 0x0303);

        await using (var plain = await TlsLoopback.HandshakeAsync(Client(alpn: ["spdy/3"]), serve))
        {
            plain.AssertClientRefused();
        }

        var adjusted = TlsOptionsFactory.ForClientHello(serve, hello);
        Assert.NotSame(serve, adjusted);
        Assert.Same(adjusted, TlsOptionsFactory.ForClientHello(serve, hello));
        await using var tls = await TlsLoopback.HandshakeAsync(Client(alpn: ["spdy/3"]), adjusted);
        await tls.AssertConnectedAsync();
        Assert.Equal(default, tls.Server.NegotiatedApplicationProtocol);
    }

    [Fact]
    public void ForClientHello_keeps_the_prepared_options_when_alpn_overlaps_or_is_absent()
    {
        var serve = Serve(Termination(alpn: ["h2", "http/1.1"]));

        Assert.Same(serve, TlsOptionsFactory.ForClientHello(serve, new ClientHelloInfo(null, ["foo", "http/1.1"], 0x0303)));
        Assert.Same(serve, TlsOptionsFactory.ForClientHello(serve, new ClientHelloInfo(null, [], 0x0303)));
        var noAlpn = Serve(Termination());
        Assert.Same(noAlpn, TlsOptionsFactory.ForClientHello(noAlpn, new ClientHelloInfo(null, ["foo"], 0x0303)));
    }

    [Fact]
    public async Task Required_client_certificate_from_the_ca_is_accepted()
    {
        var serve = Serve(Termination(clientCa: CaSecret, required: true));

        await using var tls = await TlsLoopback.HandshakeAsync(Client(certificate: TestPki.Client), serve);

        await tls.AssertConnectedAsync();
        Assert.Equal(TestPki.Client.Thumbprint, tls.Server.RemoteCertificate!.GetCertHashString());
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Required_client_certificate_missing_or_from_another_ca_is_refused(SslProtocols protocol)
    {
        var serve = Serve(Termination(clientCa: CaSecret, required: true));

        await using (var absent = await TlsLoopback.HandshakeAsync(Client(protocol), serve))
        {
            await absent.AssertServerRefusedAsync();
        }

        await using var stranger = await TlsLoopback.HandshakeAsync(Client(protocol, TestPki.StrangerClient), serve);
        await stranger.AssertServerRefusedAsync();
    }

    [Fact]
    public async Task Optional_client_certificate_may_be_absent_but_not_bad()
    {
        var serve = Serve(Termination(clientCa: CaSecret, required: false));

        await using (var absent = await TlsLoopback.HandshakeAsync(Client(), serve))
        {
            await absent.AssertConnectedAsync();
            Assert.Null(absent.Server.RemoteCertificate);
        }

        await using (var good = await TlsLoopback.HandshakeAsync(Client(certificate: TestPki.Client), serve))
        {
            await good.AssertConnectedAsync();
        }

        await using var stranger = await TlsLoopback.HandshakeAsync(Client(certificate: TestPki.StrangerClient), serve);
        await stranger.AssertServerRefusedAsync();
    }

    [Fact]
    public void Termination_errors_name_the_resource_and_the_secret()
    {
        Assert.Null(TlsOptionsFactory.ForTermination(Termination(certificate: new SecretRef("ns", "missing")), Certs, out var noCert));
        Assert.Contains("Host 'web' (namespace ns)", noCert);
        Assert.Contains("ns/missing", noCert);

        Assert.Null(TlsOptionsFactory.ForTermination(Termination(clientCa: new SecretRef("ns", "nope"), required: true), Certs, out var noCa));
        Assert.Contains("ca_secret 'ns/nope'", noCa);

        Assert.Null(TlsOptionsFactory.ForTermination(Termination(required: true), Certs, out var requiredWithoutCa));
        Assert.Contains("cert_required", requiredWithoutCa);

        Assert.Null(TlsOptionsFactory.ForTermination(Termination(TlsVersion.Tls13, TlsVersion.Tls12), Certs, out var inverted));
        Assert.Contains("min_tls_version v1.3 is above max_tls_version v1.2", inverted);
    }

    [Theory]
    [InlineData(null, null, SslProtocols.None)]
    [InlineData(TlsVersion.Tls12, null, SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData(null, TlsVersion.Tls12, SslProtocols.Tls12)]
    [InlineData(TlsVersion.Tls13, TlsVersion.Tls13, SslProtocols.Tls13)]
#pragma warning disable SYSLIB0039 // the mapping of v1.0/v1.1 is what is tested
    [InlineData(TlsVersion.Tls10, TlsVersion.Tls12, SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12)]
#pragma warning restore SYSLIB0039
    public void Version_range_maps_to_ssl_protocols(TlsVersion? min, TlsVersion? max, SslProtocols expected)
    {
        Assert.Equal(expected, TlsOptionsFactory.ToSslProtocols(min, max));
    }

    [Fact]
    public async Task Origination_verifies_the_upstream_against_the_trusted_ca_only()
    {
        var originate = Originate(Origination(sni: "server.test", trustedCa: CaSecret));

        await using (var trusted = await TlsLoopback.HandshakeAsync(originate, Upstream(TestPki.Server)))
        {
            await trusted.AssertConnectedAsync();
        }

        await using var stranger = await TlsLoopback.HandshakeAsync(originate, Upstream(TestPki.StrangerServer));
        stranger.AssertClientRefused();
    }

    [Fact]
    public async Task Origination_with_a_ca_does_not_check_the_host_name()
    {
        var originate = Originate(Origination(sni: "not-in-the-certificate.example", trustedCa: CaSecret));

        await using var tls = await TlsLoopback.HandshakeAsync(originate, Upstream(TestPki.Server));

        await tls.AssertConnectedAsync();
    }

    [Fact]
    public async Task Origination_without_a_ca_accepts_any_upstream_certificate()
    {
        await using var tls = await TlsLoopback.HandshakeAsync(Originate(Origination()), Upstream(TestPki.StrangerServer));

        await tls.AssertConnectedAsync();
    }

    [Theory]
    [InlineData("upstream.example.com", "upstream.example.com")]
    [InlineData(null, "")]
    public async Task Origination_sends_sni_only_when_set(string? sni, string expected)
    {
        await using var tls = await TlsLoopback.HandshakeAsync(Originate(Origination(sni: sni)), Upstream(TestPki.Server));

        await tls.AssertConnectedAsync();
        Assert.Equal(expected, tls.Server.TargetHostName);
    }

    [Fact]
    public async Task Origination_presents_the_client_certificate_and_negotiates_alpn_and_version()
    {
        var originate = Originate(Origination(clientCertificate: ClientSecret, max: TlsVersion.Tls12, alpn: ["h2"]));

        await using var tls = await TlsLoopback.HandshakeAsync(originate, Upstream(TestPki.Server, askClientCertificate: true, alpn: ["h2"]));

        await tls.AssertConnectedAsync();
        Assert.Equal(TestPki.Client.Thumbprint, tls.Server.RemoteCertificate!.GetCertHashString());
        Assert.Equal(SslApplicationProtocol.Http2, tls.Client.NegotiatedApplicationProtocol);
        Assert.Equal(SslProtocols.Tls12, tls.Client.SslProtocol);
    }

    [Fact]
    public void Origination_errors_name_the_context()
    {
        Assert.Null(TlsOptionsFactory.ForOrigination(Origination(clientCertificate: new SecretRef("ns", "gone")), Certs, out var noCert));
        Assert.Contains("TLSContext 'upstream' (namespace ns)", noCert);
        Assert.Contains("ns/gone", noCert);

        Assert.Null(TlsOptionsFactory.ForOrigination(Origination(trustedCa: new SecretRef("ns", "gone")), Certs, out var noCa));
        Assert.Contains("ca_secret 'ns/gone'", noCa);

        var plainHttps = new TlsOrigination(null, null, null, null, null, null, ["nope"], []);
        Assert.Null(TlsOptionsFactory.ForOrigination(plainHttps, Certs, out var badCipher));
        Assert.Contains("https:// upstream", badCipher);
    }

    [Fact]
    public async Task Options_are_reusable_for_many_connections()
    {
        var serve = Serve(Termination(clientCa: CaSecret, required: true));

        // Concurrent handshakes share the options object, as the engine's connections do.
        var connections = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
            await TlsLoopback.HandshakeAsync(Client(certificate: i % 2 == 0 ? TestPki.Client : TestPki.StrangerClient), serve)));

        for (var i = 0; i < connections.Length; i++)
        {
            await using var tls = connections[i];
            if (i % 2 == 0)
            {
                await tls.AssertConnectedAsync();
            }
            else
            {
                await tls.AssertServerRefusedAsync();
            }
        }
    }
}
