using System.Net.Sockets;
using System.Security.Authentication;
using OrleansGateway.Proxy.Tests.Infrastructure;
using OrleansGateway.Proxy.Tests.Tls;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Clients that misbehave on a TLS port: closed, counted, and the server keeps serving.</summary>
public sealed class HostileClientTests
{
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 Cert = Server("good.test");

    [Fact]
    public async Task Plaintext_on_a_TLS_only_port_is_closed()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("good.test", "good", Route(Upstream(up.EndPoint)))])), Provider(("good", Cert)));

        using var client = await proxy.ConnectAsync(listener);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: good.test\r\n\r\n"u8.ToArray());

        Assert.Contains(await Net.ObserveEndAsync(client), new[] { "eof", "reset" });
        Assert.Equal(0, up.Count);
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.no_route") == 1, "counted as no route");
    }

    [Fact]
    public async Task Half_a_ClientHello_then_silence_is_closed_after_the_handshake_timeout()
    {
        // Real time with a short timeout: the test cannot know when the proxy arms its deadline, so fake time
        // could be advanced too early; measuring from before the connect bounds it from below instead.
        await using var up = Named("up");
        var timeout = TimeSpan.FromMilliseconds(400);
        await using var proxy = new ProxyHarness(new ProxyOptions { HandshakeTimeout = timeout });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("good.test", "good", Route(Upstream(up.EndPoint)))])), Provider(("good", Cert)));
        var hello = await ClientHelloSamples.CaptureAsync("good.test", SslProtocols.None);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var client = await proxy.ConnectAsync(listener);
        await client.SendAsync(hello.AsMemory(0, hello.Length / 2), TestContext.Current.CancellationToken);

        Assert.Contains(await Net.ObserveEndAsync(client), new[] { "eof", "reset" });
        Assert.True(clock.Elapsed >= timeout - TimeSpan.FromMilliseconds(20), $"closed after {clock.Elapsed}, before the handshake timeout");
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains("reason=HandshakeTimeout")), "HandshakeTimeout logged");
        Assert.Equal(0, up.Count);
    }

    [Fact]
    public async Task Random_blobs_never_crash_the_server_and_a_good_client_is_served_afterwards()
    {
        await using var up = Named("up");
        await using var proxy = new ProxyHarness(new ProxyOptions { HandshakeTimeout = TimeSpan.FromSeconds(2) });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("good.test", "good", Route(Upstream(up.EndPoint)))])), Provider(("good", Cert)));
        var endPoint = proxy.EndPointOf(listener);
        var random = new Random(4242);
        var hello = await ClientHelloSamples.CaptureAsync("good.test", SslProtocols.None);

        for (var batch = 0; batch < 10; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
            {
                using var s = await Net.ConnectAsync(endPoint);
                byte[] blob;
                lock (random)
                {
                    // Pure noise, and ClientHellos with a few bytes flipped (harder: they look like TLS).
                    blob = i % 2 == 0 ? new byte[random.Next(1, 4096)] : (byte[])hello.Clone();
                    if (i % 2 == 0)
                    {
                        random.NextBytes(blob);
                    }
                    else
                    {
                        for (var k = 0; k < 4; k++)
                        {
                            blob[random.Next(blob.Length)] = (byte)random.Next(256);
                        }
                    }
                }

                try
                {
                    await s.SendAsync(blob);
                    s.Shutdown(SocketShutdown.Send);
                    await Net.ObserveEndAsync(s);
                }
                catch (SocketException)
                {
                    // The proxy may reset a client it refuses; that is fine.
                }
            }));
        }

        using var good = await ConnectAsync(endPoint, "good.test");
        Assert.Null(good.Error);
        Assert.Equal("up", await ReadBannerAsync(good.Stream!));
        await EchoAsync(good.Stream!);
        Assert.DoesNotContain(proxy.Logs.Lines, l => l.Message.Contains("failed unexpectedly"));
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=InternalError"));
    }
}
