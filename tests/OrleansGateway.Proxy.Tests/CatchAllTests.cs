using System.Diagnostics;
using System.Text;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>The host-less catch-all beside SNI routes: non-TLS clients and server-first protocols reach it.</summary>
public sealed class CatchAllTests
{
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 Cert = Server("tls.test");

    [Fact]
    public async Task Plaintext_on_an_inspecting_port_goes_to_the_catch_all_with_its_first_bytes_replayed()
    {
        await using var tls = Named("tls");
        await using var raw = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("tls.test", "tls", Route(Upstream(tls.EndPoint, "tls")))],
            catchAll: Route(Upstream(raw.EndPoint, "raw")))), Provider(("tls", Cert)));

        using var client = await proxy.ConnectAsync(listener);
        var request = Encoding.ASCII.GetBytes("SELECT 1;\n");
        await client.SendAsync(request);

        Assert.Equal(request, await Net.ReadExactlyAsync(client, request.Length));
        await Net.RoundTripAsync(client, 16);
        Assert.Equal(0, tls.Count);
        client.Dispose();
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        Assert.Contains($"bytes_up={request.Length + 16}", proxy.Logs.Category("OrleansGateway.AccessLog").Single()); // replayed bytes count
    }

    [Fact]
    public async Task A_silent_client_is_handed_to_the_catch_all_after_the_server_first_peek_timeout()
    {
        await using var tls = Named("tls");
        await using var ssh = Named("SSH-2.0-test");
        var peek = TimeSpan.FromMilliseconds(200);
        await using var proxy = new ProxyHarness(new ProxyOptions { ServerFirstPeekTimeout = peek });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("tls.test", "tls", Route(Upstream(tls.EndPoint, "tls")))],
            catchAll: Route(Upstream(ssh.EndPoint, "ssh")))), Provider(("tls", Cert)));

        var clock = Stopwatch.StartNew();
        using var client = await proxy.ConnectAsync(listener);
        using var stream = new System.Net.Sockets.NetworkStream(client);

        Assert.Equal("SSH-2.0-test", await ReadBannerAsync(stream));
        Assert.True(clock.Elapsed >= peek - TimeSpan.FromMilliseconds(20), $"handed over after {clock.Elapsed}, before the peek timeout");
        await Net.RoundTripAsync(client);

        // A TLS client on the same port still reaches its SNI route.
        using var tlsClient = await ConnectAsync(proxy.EndPointOf(listener), "tls.test");
        Assert.Null(tlsClient.Error);
        Assert.Equal("tls", await ReadBannerAsync(tlsClient.Stream!));
    }
}
