using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// PROXY protocol on real sockets, on both engines (docs/tcpmapping-semantics.md, "Extensions"): a client behind a
/// PROXY-speaking sender is logged by its own address and its upstream receives that address in a header of its own;
/// a listener that requires the header closes, counted, whatever comes without one, and no byte reaches an upstream.
/// </summary>
public sealed class ProxyProtocolTests
{
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 Cert = Server("tls.test");

    [Theory]
    [InlineData(ProxyProtocolVersion.V1)]
    [InlineData(ProxyProtocolVersion.V2)]
    public async Task The_client_behind_a_proxy_sender_is_logged_by_its_address_and_its_upstream_receives_it(ProxyProtocolVersion sent)
    {
        await using var upstream = new HeaderEcho();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var mapping = Upstream(upstream.EndPoint) with { SendProxyProtocol = ProxyProtocolVersion.V2 };
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(mapping)) with { ProxyProtocol = true }));

        var client = new IPEndPoint(IPAddress.Parse("203.0.113.7"), 51234);
        var frontend = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 443);
        using var socket = await proxy.ConnectAsync(listener);

        // The header and the first data in one segment, as load balancers send them.
        var hello = Encoding.ASCII.GetBytes("hello\n");
        byte[] first = [.. ProxyProtocol.Write(sent, client, frontend), .. hello];
        await socket.SendAsync(first);
        Assert.Equal(hello, await Net.ReadExactlyAsync(socket, hello.Length));
        await Net.RoundTripAsync(socket);

        var header = Assert.Single(upstream.Headers);
        Assert.Equal(2, header.Version);
        Assert.Equal(client, header.Source);
        Assert.Equal(proxy.EndPointOf(listener), header.Destination); // the listener's address and port
        socket.Dispose();

        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        var line = proxy.Logs.Category("OrleansGateway.AccessLog").Single();
        Assert.Contains("client=203.0.113.7:51234 ", line);
        Assert.Contains($"bytes_up={hello.Length + 16} ", line); // the header read is not the client's data, the one sent is not either
    }

    [Fact]
    public async Task Sni_routing_works_after_a_v2_header()
    {
        await using var tls = Named("tls");
        await using var other = Named("other");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [Sni("tls.test", "tls", Route(Upstream(tls.EndPoint, "tls")))],
            catchAll: Route(Upstream(other.EndPoint, "other"))) with { ProxyProtocol = true }), Provider(("tls", Cert)));

        using var socket = await proxy.ConnectAsync(listener);
        await socket.SendAsync(ProxyProtocol.Write(ProxyProtocolVersion.V2, new IPEndPoint(IPAddress.Parse("2001:db8::7"), 40000),
            new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443)));
        using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        using var cts = new CancellationTokenSource(Net.Deadline);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "tls.test",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, cts.Token);
        Assert.Equal("tls", await ReadBannerAsync(ssl));
        Assert.Equal(0, other.Count);
        ssl.Dispose();
        socket.Dispose();

        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        Assert.Contains("client=[2001:db8::7]:40000 sni=tls.test ", proxy.Logs.Category("OrleansGateway.AccessLog").Single());
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        // what the client sends before closing its side (or not), the close reason, a word of the detail
        { "no header", "SSH-2.0-client\r\n", "ProxyHeaderInvalid" },
        { "malformed v1", "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\nhello", "ProxyHeaderInvalid" },
        { "oversized v1", "PROXY UNKNOWN " + new string('x', 200), "ProxyHeaderInvalid" },
        { "oversized v2", "\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff", "ProxyHeaderInvalid" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Without_a_valid_header_the_connection_is_closed_counted_and_nothing_reaches_the_upstream(string what, string bytes, string reason)
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint))) with { ProxyProtocol = true }));

        using var socket = await proxy.ConnectAsync(listener);
        await socket.SendAsync(Encoding.Latin1.GetBytes(bytes));
        Assert.True(await Net.ObserveEndAsync(socket) is "eof" or "reset", what);

        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=" + reason) == 1, $"{what}: closed with {reason}");
        Assert.Equal(0, upstream.Count);
    }

    [Fact]
    public async Task A_header_cut_short_by_the_client_is_truncated()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint))) with { ProxyProtocol = true }));

        using var socket = await proxy.ConnectAsync(listener);
        var header = ProxyProtocol.Write(ProxyProtocolVersion.V2, new IPEndPoint(IPAddress.Parse("203.0.113.7"), 1), new IPEndPoint(IPAddress.Loopback, 2));
        await socket.SendAsync(header.AsMemory(0, header.Length - 3), SocketFlags.None, TestContext.Current.CancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        Assert.Equal("eof", await Net.ObserveEndAsync(socket));

        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=ProxyHeaderInvalid") == 1, "closed as invalid");
        Assert.Contains(proxy.Logs.Lines, l => l.Message.Contains("truncated", StringComparison.Ordinal));
        Assert.Equal(0, upstream.Count);
    }

    [Fact]
    public async Task A_silent_client_is_closed_after_the_handshake_timeout()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness(new ProxyOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint))) with { ProxyProtocol = true }));

        using var socket = await proxy.ConnectAsync(listener);
        await socket.SendAsync("PROXY TCP4"u8.ToArray());
        Assert.True(await Net.ObserveEndAsync(socket) is "eof" or "reset");

        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=ProxyHeaderTimeout") == 1, "closed for the timeout");
        Assert.Equal(0, upstream.Count);
    }

    [Fact]
    public async Task A_peer_outside_the_trusted_networks_is_closed_even_with_a_valid_header()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProxyProtocolTrustedNetworks = [IPNetwork.Parse("10.0.0.0/8")] });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint))) with { ProxyProtocol = true }));

        // An attacker forging another client's address: its own address (loopback) is not trusted.
        using var socket = await proxy.ConnectAsync(listener);
        byte[] forged = [.. ProxyProtocol.Write(ProxyProtocolVersion.V1, new IPEndPoint(IPAddress.Parse("10.1.2.3"), 1), new IPEndPoint(IPAddress.Loopback, 2)), .. "x"u8];
        await socket.SendAsync(forged);
        Assert.True(await Net.ObserveEndAsync(socket) is "eof" or "reset");

        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=ProxyPeerUntrusted") == 1, "closed as untrusted");
        Assert.Equal(0, upstream.Count);
    }

    [Fact]
    public async Task A_trusted_peer_is_served_and_a_local_command_keeps_the_peer_address()
    {
        await using var upstream = new HeaderEcho();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProxyProtocolTrustedNetworks = [IPNetwork.Parse("127.0.0.0/8")] });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint) with { SendProxyProtocol = ProxyProtocolVersion.V1 }))
            with { ProxyProtocol = true }));

        using var socket = await proxy.ConnectAsync(listener);
        byte[] local = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00];
        await socket.SendAsync(local);
        await Net.RoundTripAsync(socket);

        var header = Assert.Single(upstream.Headers);
        Assert.Equal(1, header.Version);
        Assert.Equal((IPEndPoint)socket.LocalEndPoint!, header.Source); // LOCAL: the sender speaks for itself
    }

    [Fact]
    public async Task Proxy_out_without_proxy_in_sends_the_real_client_address_before_any_client_byte()
    {
        await using var upstream = new HeaderEcho(bannerFirst: true);
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint) with { SendProxyProtocol = ProxyProtocolVersion.V1 }))));

        // The client stays silent: the upstream must still get the header (it waits for it before its banner).
        using var socket = await proxy.ConnectAsync(listener);
        Assert.Equal("ready\n", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(socket, 6)));
        await Net.RoundTripAsync(socket);

        var header = Assert.Single(upstream.Headers);
        Assert.Equal(1, header.Version);
        Assert.Equal((IPEndPoint)socket.LocalEndPoint!, header.Source);
        Assert.Equal(proxy.EndPointOf(listener), header.Destination);
    }

    /// <summary>
    /// The per-source cap counts the client a PROXY header names, not the peer that sent it: two clients behind one
    /// load balancer are limited separately, and one client is limited even when it comes through two load balancers
    /// (here two loopback addresses). The refusal is counted and its warning names the header's source.
    /// </summary>
    [Fact]
    public async Task The_per_source_cap_counts_the_header_source_not_the_peer()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness(new ProxyOptions { MaxConnectionsPerSource = 1 });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint))) with { ProxyProtocol = true }));
        var endPoint = proxy.EndPointOf(listener);
        var frontend = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 443);
        var alice = new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000);
        var bob = new IPEndPoint(IPAddress.Parse("203.0.113.8"), 40001);

        async Task<Socket> Through(IPAddress peer, IPEndPoint client)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            s.Bind(new IPEndPoint(peer, 0));
            using var cts = new CancellationTokenSource(Net.Deadline);
            await s.ConnectAsync(endPoint, cts.Token);
            await s.SendAsync(ProxyProtocol.Write(ProxyProtocolVersion.V2, client, frontend));
            return s;
        }

        // One peer, two clients: both served, though the cap is 1.
        var balancer = IPAddress.Loopback;
        using var first = await Through(balancer, alice);
        using var second = await Through(balancer, bob);
        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);

        // Alice again, through another peer: refused, before any byte reaches the upstream.
        using (var again = await Through(IPAddress.Parse("127.0.0.2"), alice))
        {
            Assert.Contains(await Net.ObserveEndAsync(again), new[] { "eof", "reset" });
        }

        Assert.Equal(2, upstream.Count);
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=SourceLimit") == 1, "closed for the source limit");
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connection_refusals", "reason=max_connections_per_source"));
        var warning = Assert.Single(proxy.Logs.Lines, l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning && l.Message.StartsWith("Refused ", StringComparison.Ordinal));
        Assert.Contains("--max-connections-per-source 1", warning.Message, StringComparison.Ordinal);
        Assert.Contains("203.0.113.7", warning.Message, StringComparison.Ordinal);

        // Alice's first connection ends: her place is free again, whichever peer she comes through.
        first.Dispose();
        await Eventually.Until(async () =>
        {
            using var later = await Through(IPAddress.Parse("127.0.0.2"), alice);
            try
            {
                await Net.RoundTripAsync(later);
                return true;
            }
            catch (Exception e) when (e is SocketException or EndOfStreamException)
            {
                return false;
            }
        }, "alice is served again once her first connection closed");
    }

    /// <summary>
    /// The "done when", end to end with a real load balancer: haproxy (<c>send-proxy-v2</c>) in front of the
    /// gateway. The upstream receives the client's own address, and the access log names it, not haproxy's.
    /// </summary>
    [Fact]
    public async Task A_client_behind_a_real_haproxy_sending_proxy_v2_reaches_its_upstream_by_its_own_address()
    {
        var haproxy = new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(haproxy is null, "haproxy is not installed on this machine");

        await using var upstream = new HeaderEcho();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint) with { SendProxyProtocol = ProxyProtocolVersion.V1 }))
            with { ProxyProtocol = true }));

        var frontendPort = Ports.Free();
        var directory = Directory.CreateTempSubdirectory("ogw-haproxy-");
        var config = Path.Combine(directory.FullName, "haproxy.cfg");
        await File.WriteAllTextAsync(config, $"""
            global
              maxconn 64
            defaults
              mode tcp
              timeout connect 5s
              timeout client 30s
              timeout server 30s
            frontend fe
              bind 127.0.0.1:{frontendPort}
              default_backend gateway
            backend gateway
              server gw {proxy.EndPointOf(listener)} send-proxy-v2

            """, TestContext.Current.CancellationToken);
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(haproxy!, ["-db", "-f", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            var front = new IPEndPoint(IPAddress.Loopback, frontendPort);
            await Eventually.Until(async () => !await Net.IsRefusedAsync(front), "haproxy listens");

            using var client = await Net.ConnectAsync(front);
            await Net.RoundTripAsync(client);

            // The readiness probe may have gone through too: find this client's header and line among them.
            var own = (IPEndPoint)client.LocalEndPoint!;
            Assert.Contains(upstream.Headers, h => own.Equals(h.Source));
            client.Dispose();
            await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains($"client={own} ", StringComparison.Ordinal)),
                "an access log line naming the client's own address");
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            directory.Delete(recursive: true);
        }
    }

    /// <summary>An upstream that requires a PROXY protocol header (any version), records it, then echoes what follows.</summary>
    private sealed class HeaderEcho : IAsyncDisposable
    {
        private readonly TestUpstream _server;

        public HeaderEcho(bool bannerFirst = false)
        {
            _server = new TestUpstream(async s =>
            {
                var buffer = new byte[64 * 1024];
                var filled = 0;
                ProxyHeader header;
                int consumed;
                while (true)
                {
                    var n = await s.ReceiveAsync(buffer.AsMemory(filled));
                    if (n == 0)
                    {
                        return;
                    }

                    filled += n;
                    var status = ProxyProtocol.TryParse(buffer.AsSpan(0, filled), out header, out consumed, out _);
                    if (status == ProxyHeaderStatus.Invalid)
                    {
                        return; // no header: closed, and the test finds no entry in Headers
                    }

                    if (status == ProxyHeaderStatus.Valid)
                    {
                        break;
                    }
                }

                Headers.Enqueue(header);
                if (bannerFirst)
                {
                    await s.SendAsync("ready\n"u8.ToArray());
                }

                if (filled > consumed)
                {
                    await s.SendAsync(buffer.AsMemory(consumed, filled - consumed));
                }

                int read;
                while ((read = await s.ReceiveAsync(buffer)) > 0)
                {
                    await s.SendAsync(buffer.AsMemory(0, read));
                }

                s.Shutdown(SocketShutdown.Send);
            });
        }

        public IPEndPoint EndPoint => _server.EndPoint;

        public ConcurrentQueue<ProxyHeader> Headers { get; } = new();

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
