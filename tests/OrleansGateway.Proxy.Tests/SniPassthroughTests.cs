using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// SNI passthrough on real sockets, on both engines (docs/tcpmapping-semantics.md, "SNI passthrough"): a real TLS client
/// completes its handshake with the upstream's own certificate, which it validates against the upstream's own CA,
/// through a gateway that holds no certificate for that name; a terminated host on the same port keeps working.
/// </summary>
public sealed class SniPassthroughTests
{
    private static readonly X509Certificate2 UpstreamCa = DevCertificates.CreateCa("Passthrough Upstream CA");
    private static readonly X509Certificate2 UpstreamCert = DevCertificates.Issue(UpstreamCa, ["db.passthrough.test"]);
    private static readonly X509Certificate2 GatewayCert = Server("shop.passthrough.test");

    [Fact]
    public async Task A_passthrough_client_validates_the_upstreams_own_certificate_and_a_terminated_host_shares_the_port()
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var db = TlsNamed("db", UpstreamCert, handshakes);
        await using var shop = Named("shop");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        SniRoute passthrough = new(HostPattern.Parse("db.passthrough.test"), null, Route(Upstream(db.EndPoint, "db")));
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [passthrough, Sni("shop.passthrough.test", "shop", Route(Upstream(shop.EndPoint, "shop")))])),
            Provider(("shop", GatewayCert))); // no certificate for db.passthrough.test anywhere in the gateway

        // The client trusts only the upstream's CA, and checks the name: the handshake succeeds only with the upstream's certificate.
        using (var socket = await proxy.ConnectAsync(listener))
        await using (var ssl = new SslStream(new System.Net.Sockets.NetworkStream(socket, ownsSocket: false)))
        {
            X509Certificate2? seen = null;
            using var cts = new CancellationTokenSource(Net.Deadline);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "db.passthrough.test",
                RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                {
                    seen = cert is null ? null : Copy(cert);
                    return seen is not null && ValidFor(seen, UpstreamCa) && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
                },
            }, cts.Token);
            Assert.Equal(UpstreamCert.Thumbprint, seen!.Thumbprint);
            Assert.Equal("db", await ReadBannerAsync(ssl));
            await ssl.WriteAsync("ping\n"u8.ToArray(), cts.Token);
            Assert.Equal("ping", await ReadBannerAsync(ssl));
        }

        // The upstream saw the client's own ClientHello (its SNI), not one of the gateway's.
        Assert.Equal("db.passthrough.test", Assert.Single(handshakes).ServerName);

        // A terminated host on the same port: the gateway's certificate, the cleartext upstream behind it.
        using var terminated = await ConnectAsync(proxy.EndPointOf(listener), "shop.passthrough.test");
        Assert.Null(terminated.Error);
        Assert.Equal(GatewayCert.Thumbprint, terminated.ServerCertificate!.Thumbprint);
        Assert.Equal("shop", await ReadBannerAsync(terminated.Stream!));

        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains("sni=db.passthrough.test ", StringComparison.Ordinal)),
            "an access log line naming the passthrough SNI");
    }

    [Fact]
    public async Task A_client_that_trusts_only_the_gateway_fails_on_a_passthrough_host()
    {
        var handshakes = new List<UpstreamHandshake>();
        await using var db = TlsNamed("db", UpstreamCert, handshakes);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        SniRoute passthrough = new(HostPattern.Parse("db.passthrough.test"), null, Route(Upstream(db.EndPoint, "db")));
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [passthrough])));

        // The certificate the client sees is the upstream's: issued by its CA, not by the gateway's test CA.
        using var result = await ConnectAsync(proxy.EndPointOf(listener), "db.passthrough.test");
        Assert.NotNull(result.ServerCertificate);
        Assert.True(IssuedBy(result.ServerCertificate!, UpstreamCa));
        Assert.False(IssuedBy(result.ServerCertificate!, Ca));
    }

    /// <summary>Chain validation against <paramref name="root"/> alone, as a client pinned to the upstream's CA does.</summary>
    private static bool ValidFor(X509Certificate2 leaf, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
