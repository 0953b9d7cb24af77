using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Cleartext relay over real loopback sockets: integrity, half-close, reset and EOF propagation.</summary>
public sealed class RelayTests
{
    private const int MiB = 1024 * 1024;

    /// <summary>With splice (the native engine's bulk path: reads that fill the buffer switch a direction to a pipe) and without.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task One_MiB_each_way_arrives_intact_and_the_access_log_says_so(bool splice)
    {
        var toUpstream = RandomNumberGenerator.GetBytes(MiB);
        var toClient = RandomNumberGenerator.GetBytes(MiB);
        byte[]? receivedByUpstream = null;
        await using var upstream = new TestUpstream(async s =>
        {
            var send = s.SendAsync(toClient);
            receivedByUpstream = await Net.ReadToEndAsync(s);
            await send;
            s.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = new ProxyHarness(new ProxyOptions { Splice = splice });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "bulk")), "bulk_port")));

        using var client = await proxy.ConnectAsync(listener);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(toUpstream);
            client.Shutdown(SocketShutdown.Send);
        }, TestContext.Current.CancellationToken);
        var received = await Net.ReadToEndAsync(client);
        await sending;

        Assert.Equal(SHA256.HashData(toClient), SHA256.HashData(received));
        await Eventually.Until(() => receivedByUpstream is not null, "upstream read to EOF");
        Assert.Equal(SHA256.HashData(toUpstream), SHA256.HashData(receivedByUpstream!));

        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        var line = Assert.Single(proxy.Logs.Category("OrleansGateway.AccessLog"));
        Assert.Contains("mapping=default/bulk", line);
        Assert.Contains($"upstream={upstream.EndPoint}", line);
        Assert.Contains($"bytes_up={MiB}", line);
        Assert.Contains($"bytes_down={MiB}", line);
        Assert.Contains("tenant=tenant-a", line);
        Assert.Contains("reason=", line);
        Assert.Equal(2L * MiB, proxy.Metrics.Sum("ogw.proxy.bytes", "listener=bulk_port"));
        Assert.Equal(MiB, proxy.Metrics.Sum("ogw.proxy.bytes", "direction=upstream"));
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connections"));
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.active") == 0, "active connections back to 0");
        if (TestEngine.Native)
        {
            // The connection's fds left the loops; only the listening sockets stay registered.
            await Eventually.Until(() => proxy.Server.NativeEngine!.Loops.All(l => l.Registered == 1), "only the listening sockets registered");
        }
    }

    [Fact]
    public async Task A_late_upstream_reader_gets_every_byte_in_order_after_back_pressure()
    {
        // The upstream reads nothing until a queue of unread data has built up, so with the usual socket buffer
        // limits (far below 32 MiB) the proxy's sends fill the buffers and have to wait (the asynchronous send path
        // after a non-blocking attempt); then it drains, and every byte must arrive once, in order.
        var payload = RandomNumberGenerator.GetBytes(32 * MiB);
        Socket? upstreamSocket = null;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[]? receivedByUpstream = null;
        await using var upstream = new TestUpstream(async s =>
        {
            Volatile.Write(ref upstreamSocket, s);
            await gate.Task;
            receivedByUpstream = await Net.ReadToEndAsync(s);
            s.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "late")))));

        using var client = await proxy.ConnectAsync(listener);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(payload);
            client.Shutdown(SocketShutdown.Send);
        }, TestContext.Current.CancellationToken);
        await Eventually.Until(() => Volatile.Read(ref upstreamSocket) is { Available: >= 16 * 1024 }, "unread data queued at the upstream");
        gate.SetResult();

        await sending;
        Assert.Empty(await Net.ReadToEndAsync(client));
        await Eventually.Until(() => receivedByUpstream is not null, "upstream read to EOF");
        Assert.Equal(payload.Length, receivedByUpstream!.Length);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(receivedByUpstream));
    }

    [Fact]
    public async Task Bytes_of_a_long_connection_are_counted_while_it_is_still_open()
    {
        // The copy loops add to ogw.proxy.bytes in batches, not only at close: a long-lived connection shows up.
        var drained = 0L;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new TestUpstream(async s =>
        {
            var chunk = new byte[64 * 1024];
            int n;
            while ((n = await s.ReceiveAsync(chunk, SocketFlags.None)) > 0)
            {
                Interlocked.Add(ref drained, n);
            }

            await release.Task;
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "long")), "long_port")));

        using var client = await proxy.ConnectAsync(listener);
        await client.SendAsync(RandomNumberGenerator.GetBytes(3 * MiB));
        await Eventually.Until(() => Interlocked.Read(ref drained) == 3 * MiB, "upstream received 3 MiB");

        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.bytes", "direction=upstream") >= 3L * MiB - ProxyConnection.BytesReportBatch,
            "at least 2 MiB of 3 MiB counted while the connection is open");
        Assert.InRange(proxy.Metrics.Sum("ogw.proxy.bytes", "direction=upstream"), 2L * MiB, 3L * MiB);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connections.active"));

        client.Shutdown(SocketShutdown.Send);
        release.SetResult();
        await Net.ReadToEndAsync(client);
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.bytes", "direction=upstream") == 3L * MiB, "every byte counted after close");
    }

    [Fact]
    public async Task Small_messages_are_counted_once_a_second_has_passed_not_per_message()
    {
        await using var upstream = TestUpstream.Echo();
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(time: time);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "chatty")))));

        using var client = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(client, 64);
        await Net.RoundTripAsync(client, 64);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.bytes", "direction=upstream"));

        // A second later the next message's loop adds everything pending before it waits again. Which message that is
        // depends on a race the test cannot order: the second message's clock read may come after the Advance (the
        // client has its echo before the copy loop reads the clock), so that loop counts 128 bytes and the third message
        // waits for the next second; otherwise the third message's loop counts all 192.
        time.Advance(ProxyConnection.BytesReportInterval);
        await Net.RoundTripAsync(client, 64);
        foreach (var direction in new[] { "direction=upstream", "direction=downstream" })
        {
            var counted = await Eventually.Get(() => Task.FromResult(proxy.Metrics.Sum("ogw.proxy.bytes", direction)), n => n >= 2 * 64, $"the bytes before the second counted ({direction})");
            Assert.True(counted is 2 * 64 or 3 * 64, $"{counted} bytes counted ({direction})");
        }

        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connections.active"));

        // The rest is counted when the connection ends.
        client.Shutdown(SocketShutdown.Both);
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.bytes", "direction=upstream") == 3 * 64, "192 bytes up counted");
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.bytes", "direction=downstream") == 3 * 64, "192 bytes down counted");
    }

    [Fact]
    public async Task Client_half_close_reaches_the_upstream_and_the_answer_still_flows_back()
    {
        await using var upstream = new TestUpstream(async s =>
        {
            var request = await Net.ReadToEndAsync(s); // ends only with the client's FIN
            await s.SendAsync(request.Reverse().ToArray());
            s.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        using var client = await proxy.ConnectAsync(listener);
        await client.SendAsync("hello"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("olleh"u8.ToArray(), await Net.ReadToEndAsync(client));
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        Assert.Contains("reason=ClientClosed", proxy.Logs.Category("OrleansGateway.AccessLog").Single());
    }

    [Fact]
    public async Task Upstream_half_close_reaches_the_client_and_the_client_can_still_send()
    {
        var upstreamGot = new TaskCompletionSource<byte[]>();
        await using var upstream = new TestUpstream(async s =>
        {
            await s.SendAsync("banner"u8.ToArray());
            s.Shutdown(SocketShutdown.Send);
            upstreamGot.SetResult(await Net.ReadToEndAsync(s));
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        using var client = await proxy.ConnectAsync(listener);
        Assert.Equal("banner"u8.ToArray(), await Net.ReadToEndAsync(client)); // EOF seen by the client
        await client.SendAsync("still here"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("still here"u8.ToArray(), await upstreamGot.Task.WaitAsync(Net.Deadline, TestContext.Current.CancellationToken));
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        Assert.Contains("reason=UpstreamClosed", proxy.Logs.Category("OrleansGateway.AccessLog").Single());
    }

    [Fact]
    public async Task Upstream_reset_reaches_the_client_as_a_reset()
    {
        await using var upstream = new TestUpstream(async s =>
        {
            await Net.ReadExactlyAsync(s, 4);
            s.LingerState = new LingerOption(true, 0);
            s.Close();
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        using var client = await proxy.ConnectAsync(listener);
        await client.SendAsync("ping"u8.ToArray());

        Assert.Equal("reset", await Net.ObserveEndAsync(client));
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        Assert.Contains("reason=UpstreamReset", proxy.Logs.Category("OrleansGateway.AccessLog").Single());
    }

    [Fact]
    public async Task Upstream_close_reaches_the_client_as_EOF()
    {
        await using var upstream = new TestUpstream(async s =>
        {
            await s.SendAsync("bye"u8.ToArray());
            s.Close();
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        using var client = await proxy.ConnectAsync(listener);

        Assert.Equal("bye"u8.ToArray(), await Net.ReadToEndAsync(client));
    }

    [Fact]
    public async Task A_listener_on_127_0_0_2_is_not_reachable_on_127_0_0_1()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback(2);
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));
        var bound = proxy.EndPointOf(listener);

        using var client = await Net.ConnectAsync(bound);
        await Net.RoundTripAsync(client);
        Assert.True(await Net.IsRefusedAsync(new IPEndPoint(IPAddress.Loopback, bound.Port)));
    }
}
