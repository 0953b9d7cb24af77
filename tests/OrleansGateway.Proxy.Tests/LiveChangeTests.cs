using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Plans applied while connections stream: nothing established drops; removed listeners refuse and drain.</summary>
public sealed class LiveChangeTests
{
    [Fact]
    public async Task Applying_plans_under_load_keeps_every_established_connection_and_drains_removed_listeners()
    {
        await using var a = TestUpstream.Echo();
        await using var b = TestUpstream.Echo();
        var time = new FakeTimeProvider();
        var drain = TimeSpan.FromSeconds(60);
        await using var proxy = new ProxyHarness(new ProxyOptions { DrainTimeout = drain }, time);
        var kept = Loopback(1);
        var removed = Loopback(3);
        var added = Loopback(4);
        var first = await proxy.ApplyBoundAsync(Plan(
            Cleartext(kept, Route(Upstream(a.EndPoint, "to-a"))),
            Cleartext(removed, Route(Upstream(a.EndPoint, "to-a")))));
        var keptEndPoint = proxy.EndPointOf(kept);
        var removedEndPoint = proxy.EndPointOf(removed);

        using var stop = new CancellationTokenSource();
        var keptStreams = Enumerable.Range(0, 8).Select(_ => Stream.Start(keptEndPoint, stop.Token)).ToArray();
        var removedStreams = Enumerable.Range(0, 4).Select(_ => Stream.Start(removedEndPoint, stop.Token)).ToArray();
        await Stream.AllProgressAsync(keptStreams.Concat(removedStreams));

        // Change the kept listener's mapping, add a listener, remove one.
        var second = await proxy.ApplyBoundAsync(Plan(
            Cleartext(kept, Route(Upstream(b.EndPoint, "to-b"))),
            Cleartext(added, Route(Upstream(b.EndPoint, "to-b")))));
        Assert.Equal(first.Generation + 1, second.Generation);
        Assert.Equal(keptEndPoint, proxy.EndPointOf(kept)); // same socket, same port
        await Eventually.Until(() => Net.IsRefusedAsync(removedEndPoint), "the removed listener refuses", TimeSpan.FromSeconds(1));

        var bBefore = b.Count;
        using (var fresh = await proxy.ConnectAsync(kept))
        {
            await Net.RoundTripAsync(fresh);
        }

        Assert.Equal(bBefore + 1, b.Count); // new connections follow the new mapping
        using (var onAdded = await proxy.ConnectAsync(added))
        {
            await Net.RoundTripAsync(onAdded);
        }

        // Many more swaps, with canary groups and breakers changing, while everything streams.
        for (var i = 0; i < 20; i++)
        {
            await proxy.ApplyBoundAsync(Plan(
                Cleartext(kept, Route(Upstream(a.EndPoint, "to-a", share: i % 2 == 0 ? 100 : 50), Upstream(b.EndPoint, "to-b", share: i % 2 == 0 ? 0 : 50))),
                i % 3 == 0 ? Cleartext(added, Route(Upstream(b.EndPoint, $"to-b-{i}"))) : Cleartext(added, Route(Upstream(a.EndPoint, $"to-a-{i}")))));
        }

        await Stream.AllProgressAsync(keptStreams.Concat(removedStreams));
        Assert.Equal(removedStreams.Length, proxy.Server.DrainingConnections);

        // The drain timeout closes what is left of the removed listener, and only that.
        time.Advance(drain);
        await Eventually.Until(() => removedStreams.All(s => s.Ended), "drained connections closed");
        await Eventually.Until(() => proxy.Server.DrainingConnections == 0, "nothing left draining");
        await Stream.AllProgressAsync(keptStreams);

        stop.Cancel();
        foreach (var s in keptStreams)
        {
            await s.Completion;
            Assert.Null(s.Failure);
        }

        Assert.Equal(removedStreams.Length, proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=Drained"));
    }

    /// <summary>A client that sends 1 KiB and checks the echo, over and over.</summary>
    private sealed class Stream
    {
        private long _rounds;

        public Task Completion { get; private set; } = Task.CompletedTask;
        public long Rounds => Interlocked.Read(ref _rounds);
        public Exception? Failure { get; private set; }
        public bool Ended { get; private set; }

        public static Stream Start(IPEndPoint endPoint, CancellationToken stop)
        {
            var stream = new Stream();
            stream.Completion = Task.Run(() => stream.RunAsync(endPoint, stop));
            return stream;
        }

        public static async Task AllProgressAsync(IEnumerable<Stream> streams)
        {
            var marks = streams.Select(s => (Stream: s, Mark: s.Rounds)).ToArray();
            await Eventually.Until(() => marks.All(m => m.Stream.Rounds >= m.Mark + 5), "every stream makes progress");
        }

        private async Task RunAsync(IPEndPoint endPoint, CancellationToken stop)
        {
            try
            {
                using var socket = await Net.ConnectAsync(endPoint);
                var data = new byte[1024];
                var back = new byte[1024];
                while (!stop.IsCancellationRequested)
                {
                    Random.Shared.NextBytes(data);
                    await socket.SendAsync(data);
                    var filled = 0;
                    while (filled < back.Length)
                    {
                        var n = await socket.ReceiveAsync(back.AsMemory(filled), SocketFlags.None);
                        if (n == 0)
                        {
                            throw new EndOfStreamException("closed by the proxy");
                        }

                        filled += n;
                    }

                    Assert.Equal(data, back);
                    Interlocked.Increment(ref _rounds);
                }
            }
            catch (Exception e)
            {
                Failure = e;
            }
            finally
            {
                Ended = true;
            }
        }
    }
}

/// <summary>Certificate rotation and route changes on a TLS listener while a terminated connection streams.</summary>
public sealed class TlsLiveChangeTests
{
    [Fact]
    public async Task A_new_certificate_serves_new_connections_while_established_ones_keep_streaming()
    {
        var before = TlsKit.Server("rotate.test");
        var after = TlsKit.Server("rotate.test");
        await using var a = TlsKit.Named("a");
        await using var b = TlsKit.Named("b");
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [TlsKit.Sni("rotate.test", "cert", Route(Upstream(a.EndPoint, "a")))])),
            TlsKit.Provider(("cert", before)));

        using var established = await TlsKit.ConnectAsync(proxy.EndPointOf(listener), "rotate.test");
        Assert.Equal(before.Thumbprint, established.ServerCertificate!.Thumbprint);
        Assert.Equal("a", await TlsKit.ReadBannerAsync(established.Stream!));

        for (var i = 0; i < 5; i++)
        {
            await proxy.ApplyBoundAsync(Plan(Inspecting(listener, [
                TlsKit.Sni("rotate.test", "cert", Route(Upstream(b.EndPoint, "b"))),
                TlsKit.Sni($"extra{i}.test", "cert", Route(Upstream(a.EndPoint, "a"))),
            ])), TlsKit.Provider(("cert", after)));
            await TlsKit.EchoAsync(established.Stream!);
        }

        using var fresh = await TlsKit.ConnectAsync(proxy.EndPointOf(listener), "rotate.test");
        Assert.Equal(after.Thumbprint, fresh.ServerCertificate!.Thumbprint);
        Assert.Equal("b", await TlsKit.ReadBannerAsync(fresh.Stream!));
        await TlsKit.EchoAsync(established.Stream!);
    }
}

public sealed class ShutdownTests
{
    [Fact]
    public async Task Disposing_the_server_closes_every_connection_and_releases_the_ports()
    {
        await using var upstream = TestUpstream.Echo();
        var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));
        var endPoint = proxy.EndPointOf(listener);
        using var client = await Net.ConnectAsync(endPoint);
        await Net.RoundTripAsync(client);

        await proxy.Server.DisposeAsync();

        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        Assert.True(await Net.IsRefusedAsync(endPoint));
        Assert.Contains(proxy.Logs.Category("OrleansGateway.AccessLog"), l => l.Contains("reason=ServerStopped"));
        await proxy.DisposeAsync();
    }
}
