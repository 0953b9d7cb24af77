using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using OrleansGateway.Proxy.Tests.Tls;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;
using static OrleansGateway.Proxy.Tests.Infrastructure.TlsKit;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// The edge's connection limits (docs/data-plane.md, "Connection limits") through real sockets, on both engines: the
/// process-wide, per-listener and per-source caps and the pre-handshake budget refuse at accept, are counted by reason
/// and logged; a slowloris with a victim's SNI holds none of the victim's tenant slots; TCP keepalive is on both legs.
/// </summary>
public sealed class ConnectionLimitTests
{
    private const string Refusals = "ogw.proxy.connection_refusals";

    [Fact]
    public async Task The_per_source_cap_refuses_one_address_beyond_it_while_another_address_is_served()
    {
        await using var upstream = TestUpstream.Echo();
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(new ProxyOptions { MaxConnectionsPerSource = 2 }, time);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));
        var endPoint = proxy.EndPointOf(listener);

        using var first = await ConnectFromAsync(IPAddress.Loopback, endPoint);
        var second = await ConnectFromAsync(IPAddress.Loopback, endPoint);
        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);
        using (var third = await ConnectFromAsync(IPAddress.Loopback, endPoint))
        {
            Assert.Contains(await Net.ObserveEndAsync(third), new[] { "eof", "reset" });
        }

        // Another client address has its own count.
        using var other = await ConnectFromAsync(IPAddress.Parse("127.0.0.2"), endPoint);
        await Net.RoundTripAsync(other);

        Assert.Equal(3, upstream.Count);
        Assert.Equal(1, proxy.Metrics.Sum(Refusals, "reason=max_connections_per_source"));
        Assert.Single(Warnings(proxy));
        Assert.Contains("Refused 1 connection(s) at --max-connections-per-source 2", Warnings(proxy)[0], StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", Warnings(proxy)[0], StringComparison.Ordinal);

        // More refusals within the log interval are counted, not logged; the next line after it says how many.
        for (var i = 0; i < 3; i++)
        {
            using var refused = await ConnectFromAsync(IPAddress.Loopback, endPoint);
            Assert.Contains(await Net.ObserveEndAsync(refused), new[] { "eof", "reset" });
        }

        Assert.Single(Warnings(proxy));
        time.Advance(ConnectionLimits.LogInterval);
        using (var refused = await ConnectFromAsync(IPAddress.Loopback, endPoint))
        {
            Assert.Contains(await Net.ObserveEndAsync(refused), new[] { "eof", "reset" });
        }

        Assert.Equal(2, Warnings(proxy).Count);
        Assert.Contains("Refused 4 connection(s)", Warnings(proxy)[1], StringComparison.Ordinal);
        Assert.Equal(5, proxy.Metrics.Sum(Refusals, "reason=max_connections_per_source"));

        // A closed connection gives its place back.
        second.Dispose();
        await Eventually.Until(async () =>
        {
            using var again = await ConnectFromAsync(IPAddress.Loopback, endPoint);
            try
            {
                await Net.RoundTripAsync(again);
                return true;
            }
            catch (Exception e) when (e is SocketException or EndOfStreamException)
            {
                return false;
            }
        }, "a new connection from the address once one of its two closed");
    }

    [Fact]
    public async Task The_process_cap_counts_every_listener_and_the_listener_cap_only_its_own()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness(new ProxyOptions { MaxConnections = 3, MaxConnectionsPerListener = 2 });
        var a = Loopback(1);
        var b = Loopback(2);
        await proxy.ApplyBoundAsync(Plan(Cleartext(a, Route(Upstream(upstream.EndPoint, "a"))), Cleartext(b, Route(Upstream(upstream.EndPoint, "b")))));

        var open = new List<Socket> { await proxy.ConnectAsync(a), await proxy.ConnectAsync(a) };
        open.ForEach(s => Net.RoundTripAsync(s).GetAwaiter().GetResult());
        using (var overListener = await proxy.ConnectAsync(a))
        {
            Assert.Contains(await Net.ObserveEndAsync(overListener), new[] { "eof", "reset" });
        }

        // Listener b still has room, until the process is full.
        open.Add(await proxy.ConnectAsync(b));
        await Net.RoundTripAsync(open[^1]);
        using (var overProcess = await proxy.ConnectAsync(b))
        {
            Assert.Contains(await Net.ObserveEndAsync(overProcess), new[] { "eof", "reset" });
        }

        Assert.Equal(3, upstream.Count);
        Assert.Equal(1, proxy.Metrics.Sum(Refusals, "reason=max_connections_per_listener"));
        Assert.Equal(1, proxy.Metrics.Sum(Refusals, "reason=max_connections"));
        open.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task A_slowloris_of_stalled_handshakes_with_the_victims_SNI_holds_none_of_the_victims_slots()
    {
        await using var victimUpstream = Named("victim");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(
            Plan(Inspecting(listener, [Sni("victim.test", "victim-cert", Route(Upstream(victimUpstream.EndPoint, "victim")))])) with
            {
                ConnectionLimits = ImmutableDictionary<string, int>.Empty.Add("tenant-a", 3),
            },
            Provider(("victim-cert", Server("victim.test"))));
        var endPoint = proxy.EndPointOf(listener);
        var hello = await ClientHelloSamples.CaptureAsync("victim.test", SslProtocols.None);

        // Twenty attackers send the victim's whole ClientHello and never answer the server's flight; ten more stop
        // half way through the ClientHello. Each waits for the 10 s handshake timeout.
        var attackers = new List<Socket>();
        for (var i = 0; i < 30; i++)
        {
            var s = await Net.ConnectAsync(endPoint);
            await s.SendAsync(i < 20 ? hello : hello.AsMemory(0, hello.Length / 2), TestContext.Current.CancellationToken);
            attackers.Add(s);
        }

        await Eventually.Until(() => proxy.Server.GetStatus().Listeners.Single().ActiveConnections >= 30, "the stalled handshakes are open");

        // The victim's own clients still reach it: up to its limit, and no further.
        var served = new List<ClientResult>();
        for (var i = 0; i < 3; i++)
        {
            var client = await ConnectAsync(endPoint, "victim.test");
            Assert.Null(client.Error);
            Assert.Equal("victim", await ReadBannerAsync(client.Stream!));
            served.Add(client);
        }

        using (var over = await ConnectAsync(endPoint, "victim.test"))
        {
            Assert.NotNull(over.Error);
        }

        Assert.Equal(3, victimUpstream.Count);
        Assert.Equal(3, proxy.Server.GetStatus().ActiveConnections["tenant-a"]);
        served.ForEach(c => c.Dispose());
        attackers.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task The_pre_handshake_budget_refuses_beyond_it_and_frees_a_place_once_a_handshake_is_done()
    {
        await using var up = Named("up");
        await using var plainUp = Named("plain");
        await using var proxy = new ProxyHarness(new ProxyOptions { MaxTlsHandshakes = 3 });
        var tls = Loopback(1);
        var plain = Loopback(2);
        await proxy.ApplyBoundAsync(
            Plan(Inspecting(tls, [Sni("good.test", "good", Route(Upstream(up.EndPoint)))]), Cleartext(plain, Route(Upstream(plainUp.EndPoint, "plain")))),
            Provider(("good", Server("good.test"))));
        var endPoint = proxy.EndPointOf(tls);

        // A served client's place is free again once its handshake is done.
        using (var served = await ConnectAsync(endPoint, "good.test"))
        {
            Assert.Null(served.Error);
            Assert.Equal("up", await ReadBannerAsync(served.Stream!));
        }

        var stalled = new List<Socket>();
        for (var i = 0; i < 3; i++)
        {
            stalled.Add(await Net.ConnectAsync(endPoint));
        }

        await Eventually.Until(() => proxy.Server.GetStatus().Listeners.First().ActiveConnections == 3, "three clients in their handshake");
        using (var over = await Net.ConnectAsync(endPoint))
        {
            Assert.Contains(await Net.ObserveEndAsync(over), new[] { "eof", "reset" }); // at once, not after the handshake timeout
        }

        Assert.Equal(1, proxy.Metrics.Sum(Refusals, "reason=max_tls_handshakes"));

        // Cleartext listeners have no handshake and do not count against it.
        using var cleartext = await proxy.ConnectAsync(plain);
        Assert.Equal("plain", await ReadBannerAsync(new NetworkStream(cleartext)));

        stalled[0].Dispose();
        await Eventually.Until(async () =>
        {
            using var client = await ConnectAsync(endPoint, "good.test");
            return client.Error is null;
        }, "a handshake once a stalled client left");
        stalled.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task Keepalive_is_set_on_the_client_and_the_upstream_socket_of_a_cleartext_and_a_TLS_connection()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("reads the gateway's sockets through /proc (Linux only)");
        }

        await using var upstream = TestUpstream.Echo();
        await using var tlsUpstream = Named("tls-up");
        await using var proxy = new ProxyHarness();
        var plain = Loopback(1);
        var tls = Loopback(2);
        await proxy.ApplyBoundAsync(
            Plan(Cleartext(plain, Route(Upstream(upstream.EndPoint, "plain"))), Inspecting(tls, [Sni("good.test", "good", Route(Upstream(tlsUpstream.EndPoint, "tls")))])),
            Provider(("good", Server("good.test"))));

        using var client = await proxy.ConnectAsync(plain);
        await Net.RoundTripAsync(client);
        using var tlsClient = await ConnectAsync(proxy.EndPointOf(tls), "good.test");
        Assert.Null(tlsClient.Error);
        Assert.Equal("tls-up", await ReadBannerAsync(tlsClient.Stream!));

        var expected = TcpKeepAlive.Default;
        foreach (var (leg, local, remote) in new (string, IPEndPoint?, IPEndPoint?)[]
        {
            ("client leg (cleartext)", proxy.EndPointOf(plain), (IPEndPoint)client.LocalEndPoint!),
            ("upstream leg (cleartext)", null, upstream.EndPoint),
            ("client leg (TLS)", proxy.EndPointOf(tls), (IPEndPoint)tlsClient.Socket.LocalEndPoint!),
            ("upstream leg (TLS)", null, tlsUpstream.EndPoint),
        })
        {
            var fd = ProcSockets.FdOf(local, remote);
            Assert.True(fd >= 0, $"the gateway's socket of the {leg} was not found");
            Assert.Equal(1, ProcSockets.GetInt(fd, Native.Libc.SOL_SOCKET, Native.Libc.SO_KEEPALIVE));
            Assert.Equal((int)expected.Idle.TotalSeconds, ProcSockets.GetInt(fd, Native.Libc.IPPROTO_TCP, Native.Libc.TCP_KEEPIDLE));
            Assert.Equal((int)expected.Interval.TotalSeconds, ProcSockets.GetInt(fd, Native.Libc.IPPROTO_TCP, Native.Libc.TCP_KEEPINTVL));
            Assert.Equal(expected.Probes, ProcSockets.GetInt(fd, Native.Libc.IPPROTO_TCP, Native.Libc.TCP_KEEPCNT));
        }
    }

    private static List<string> Warnings(ProxyHarness proxy) =>
        [.. proxy.Logs.Lines.Where(l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning && l.Message.StartsWith("Refused ", StringComparison.Ordinal)).Select(l => l.Message)];

    private static async Task<Socket> ConnectFromAsync(IPAddress source, IPEndPoint endPoint)
    {
        var s = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        s.Bind(new IPEndPoint(source, 0));
        using var cts = new CancellationTokenSource(Net.Deadline);
        await s.ConnectAsync(endPoint, cts.Token);
        return s;
    }

    /// <summary>This process's TCP sockets as the kernel lists them (/proc/net/tcp), found by address, read with getsockopt.</summary>
    private static class ProcSockets
    {
        /// <summary>The fd of this process's IPv4 socket with that local address (null: any) and remote address; -1 when none.</summary>
        public static int FdOf(IPEndPoint? local, IPEndPoint? remote)
        {
            var inodes = File.ReadLines("/proc/net/tcp").Skip(1)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => (local is null || Parse(f[1]).Equals(local)) && (remote is null || Parse(f[2]).Equals(remote)))
                .Select(f => f[9])
                .ToHashSet();
            foreach (var entry in Directory.EnumerateFiles("/proc/self/fd"))
            {
                var target = new FileInfo(entry).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal) && inodes.Contains(target[8..^1]))
                {
                    return int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture);
                }
            }

            return -1;
        }

        public static int GetInt(int fd, int level, int name)
        {
            Assert.True(Native.Libc.TryGetInt(fd, level, name, out var value), $"getsockopt({fd}, {level}, {name}) failed: errno {Native.Libc.Errno}");
            return value;
        }

        /// <summary>"0100007F:1F90": the IPv4 address as the kernel's 32-bit word in hex (host order), the port in hex.</summary>
        private static IPEndPoint Parse(string text)
        {
            var parts = text.Split(':');
            var word = uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return new IPEndPoint(new IPAddress(BitConverter.GetBytes(word)), int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
    }
}
