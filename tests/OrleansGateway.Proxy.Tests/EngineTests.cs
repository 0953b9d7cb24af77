using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// The relay engine's own edge cases, on whichever engine this assembly runs (<see cref="TestEngine"/>): the engine in
/// use, a client reset, a peer that never reads, connection churn, thousands of open connections, and that every
/// file descriptor is closed exactly once (the process's fd count comes back to where it was).
/// </summary>
[Collection(FootprintCollection.Name)]
public sealed class EngineTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task The_server_says_which_engine_relays()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        var line = Assert.Single(proxy.Logs.Lines, l => l.Message.StartsWith("Relay engine: ", StringComparison.Ordinal)).Message;
        Assert.StartsWith(TestEngine.Native ? "Relay engine: native" : "Relay engine: managed", line);
        Assert.Equal(TestEngine.Native, proxy.Server.NativeEngine is not null);
    }

    [Fact]
    public async Task Client_reset_reaches_the_upstream_as_a_reset()
    {
        var upstreamEnd = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new TestUpstream(async s =>
        {
            await Net.ReadExactlyAsync(s, 4);
            upstreamEnd.SetResult(await Net.ObserveEndAsync(s));
        });
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        var client = await proxy.ConnectAsync(listener);
        await client.SendAsync("ping"u8.ToArray());
        await Eventually.Until(() => upstream.Count == 1, "upstream connected");
        client.LingerState = new LingerOption(true, 0);
        client.Dispose();

        Assert.Equal("reset", await upstreamEnd.Task.WaitAsync(Net.Deadline, TestContext.Current.CancellationToken));
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(), "an access log line");
        Assert.Contains("reason=ClientReset", proxy.Logs.Category("OrleansGateway.AccessLog").Single());
    }

    [Fact]
    public async Task A_peer_that_never_reads_holds_the_sender_back_instead_of_being_buffered_for()
    {
        // The upstream never reads. A relay that kept reading from the client would take everything; one that stops
        // reading while the upstream cannot take more leaves the client stuck once the socket buffers are full.
        const long attempt = 512L * MiB;
        const long bound = 160L * MiB; // the kernel's socket buffers on both legs (tcp_rmem/wmem maxima) are far below
        await using var upstream = new TestUpstream(_ => Task.Delay(Timeout.Infinite));
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));
        using var client = await proxy.ConnectAsync(listener);
        client.Blocking = false;

        var chunk = new byte[256 * 1024];
        long sent = 0;
        var stalledSince = Stopwatch.StartNew();
        var deadline = Stopwatch.StartNew();
        while (sent < attempt && stalledSince.Elapsed < TimeSpan.FromSeconds(2) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var n = client.Send(chunk, 0, chunk.Length, SocketFlags.None, out var error);
            if (error == SocketError.Success && n > 0)
            {
                sent += n;
                stalledSince.Restart();
            }
            else
            {
                Assert.Equal(SocketError.WouldBlock, error);
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }
        }

        Assert.True(sent < bound, $"the client sent {sent / MiB} MiB to an upstream that reads nothing");
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.connections.active"));
    }

    [Fact]
    public async Task Thousands_of_short_connections_with_resets_and_refusals_leave_no_fd_behind()
    {
        await using var upstream = TestUpstream.Echo();
        var refusing = Ports.Free();

        // A first round warms up what the process creates once (the runtime's socket engine, thread-pool threads).
        await RunAsync(200);
        var before = OpenFdTargets();
        await RunAsync(2_000);
        await Eventually.Until(() => OpenFdTargets().Count <= before.Count, $"fds back to {before.Count}; new: {string.Join(", ", OpenFdTargets().Except(before))}");

        async Task RunAsync(int count)
        {
            var proxy = new ProxyHarness();
            var echo = Loopback(1);
            var refused = Loopback(2);
            await proxy.ApplyBoundAsync(Plan(
                Cleartext(echo, Route(Upstream(upstream.EndPoint, "echo"))),
                Cleartext(refused, Route(Upstream(new IPEndPoint(IPAddress.Loopback, refusing), "refused")))));

            var echoEndPoint = proxy.EndPointOf(echo);
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            {
                using var client = await Net.ConnectAsync(echoEndPoint);
                if (i % 10 == 9)
                {
                    client.LingerState = new LingerOption(true, 0); // reset instead of close
                    return;
                }

                await Net.RoundTripAsync(client, 64);
                client.Shutdown(SocketShutdown.Send);
                await Net.ReadToEndAsync(client);
            });
            for (var i = 0; i < 50; i++)
            {
                using var client = await proxy.ConnectAsync(refused);
                Assert.Equal("eof", await Net.ObserveEndAsync(client));
            }

            await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.connections.closed") == count + 50, "every connection closed");
            Assert.Equal(50, proxy.Metrics.Sum("ogw.proxy.connections.closed", "reason=UpstreamRefused"));
            if (TestEngine.Native)
            {
                Assert.All(proxy.Server.NativeEngine!.Loops, l => Assert.Equal(2, l.Registered)); // the two listeners' sockets
            }

            await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Ten_thousand_open_connections_are_relayed_and_all_closed_where_the_file_limit_allows()
    {
        // Each proxied connection takes four fds in this process (client, both proxy sockets, upstream's end).
        var limit = RaiseFileLimit(45_000);
        var connections = (int)Math.Min(10_000, (limit - 1_000) / 4);
        Assert.True(connections >= 1_000, $"the open-files limit {limit} leaves room for only {connections} connections");
        await using var upstream = TestUpstream.Echo();
        var before = OpenFds();
        var proxy = new ProxyHarness(new ProxyOptions { DrainTimeout = TimeSpan.FromMinutes(5) });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, breakers: new CircuitBreakerPlan(20_000, 20_000, 3, 3))))));
        var endPoint = proxy.EndPointOf(listener);

        var clients = new Socket[connections];
        await Parallel.ForEachAsync(Enumerable.Range(0, connections), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            clients[i] = await Net.ConnectAsync(endPoint);
            await Net.RoundTripAsync(clients[i], 1);
        });
        Assert.Equal(connections, proxy.Metrics.Sum("ogw.proxy.connections.active"));

        // Every one of them still relays.
        await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (c, _) => await Net.RoundTripAsync(c, 32));

        // The listener is removed while they are open: it refuses new clients, and they keep working until they close.
        await proxy.ApplyAsync(Plan());
        Assert.True(await Net.IsRefusedAsync(endPoint));
        Assert.Equal(connections, proxy.Server.DrainingConnections);
        await Net.RoundTripAsync(clients[0], 16);

        foreach (var c in clients)
        {
            c.Dispose();
        }

        await Eventually.Until(() => proxy.Server.DrainingConnections == 0, "every drained connection closed", TimeSpan.FromSeconds(60));
        await proxy.DisposeAsync();
        await Eventually.Until(() => OpenFds() <= before + 8, $"fds back to {before} (now {OpenFds()})", TimeSpan.FromSeconds(30));
    }

    private static int OpenFds() => OpenFdTargets().Count;

    /// <summary>
    /// Open fds that are sockets, pipes, epoll sets or eventfds (socket:[inode], pipe:[inode], anon_inode:[eventpoll]...),
    /// with what they are, to name a leak. Files are left out: the runtime maps assemblies as they are first used.
    /// </summary>
    private static HashSet<string> OpenFdTargets()
    {
        var targets = new HashSet<string>();
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && !target.StartsWith('/'))
                {
                    targets.Add($"{Path.GetFileName(fd)}->{target}");
                }
            }
            catch (IOException)
            {
                // Closed while listing.
            }
        }

        return targets;
    }

    /// <summary>Raises this process's open-files limit towards <paramref name="wanted"/> (root may raise the hard limit too); the soft limit after.</summary>
    private static long RaiseFileLimit(long wanted)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("prlimit", $"--pid {Environment.ProcessId} --nofile={wanted}:{wanted}")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            });
            process?.WaitForExit(10_000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No prlimit: the limit stays.
        }

        var line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);
    }
}
