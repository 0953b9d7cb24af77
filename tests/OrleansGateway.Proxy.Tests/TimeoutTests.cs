using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Idle and connect timeouts, driven by fake time (no test waits for a real timeout).</summary>
public sealed class TimeoutTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task Idle_timeout_closes_both_sides_exactly_after_the_idle_time_and_not_before()
    {
        var upstreamEnd = new TaskCompletionSource<string>();
        await using var upstream = new TestUpstream(async s =>
        {
            // Echo until the proxy closes, then report how it closed.
            var buffer = new byte[1024];
            try
            {
                int n;
                while ((n = await s.ReceiveAsync(buffer)) > 0)
                {
                    await s.SendAsync(buffer.AsMemory(0, n));
                }

                upstreamEnd.SetResult("eof");
            }
            catch (SocketException e)
            {
                upstreamEnd.SetResult(e.SocketErrorCode.ToString());
            }
        });
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(time: time);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "idle", idleTimeout: Idle)))));

        using var client = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(client);

        time.Advance(Idle - OneMs);
        await Net.RoundTripAsync(client); // still open after timeout-1 ms of silence

        time.Advance(Idle - OneMs);       // the timer fired at the original deadline, saw recent activity and re-armed
        await Net.RoundTripAsync(client);

        time.Advance(Idle);
        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        Assert.Equal("eof", await upstreamEnd.Task.WaitAsync(Net.Deadline, TestContext.Current.CancellationToken));
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.idle_timeouts", "mapping=idle") == 1, "idle timeout counted");
        await Eventually.Until(() => proxy.Logs.Category("OrleansGateway.AccessLog").Any(l => l.Contains("reason=IdleTimeout")), "IdleTimeout logged");
    }

    [Fact]
    public async Task Without_an_idle_timeout_of_its_own_a_silent_connection_closes_after_the_default()
    {
        await using var upstream = TestUpstream.Echo();
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(time: time);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));

        using var client = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(client);
        time.Advance(TimeSpan.FromMinutes(59));
        await Net.RoundTripAsync(client);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.idle_timeouts"));

        // The timer armed at the start finds a byte 59 minutes in and re-arms for the rest: time moves on in steps until
        // the connection has been silent for the default's full hour.
        Assert.Equal(TimeSpan.FromHours(1), new ProxyOptions().DefaultIdleTimeout);
        await Eventually.Until(
            () =>
            {
                time.Advance(TimeSpan.FromMinutes(15));
                return proxy.Metrics.Sum("ogw.proxy.idle_timeouts") == 1;
            },
            "closed by the default idle timeout");
        Assert.Equal("eof", await Net.ObserveEndAsync(client));
    }

    [Fact]
    public async Task An_idle_timeout_of_none_or_no_default_keeps_a_silent_connection_open()
    {
        await using var upstream = TestUpstream.Echo();
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(new ProxyOptions { DefaultIdleTimeout = null }, time: time);
        var none = Loopback(1);
        var unset = Loopback(2);
        await proxy.ApplyBoundAsync(Plan(
            Cleartext(none, Route(Upstream(upstream.EndPoint, "none", idleTimeout: Timeout.InfiniteTimeSpan))), // idle_timeout_ms: 0
            Cleartext(unset, Route(Upstream(upstream.EndPoint, "unset")))));

        using var first = await proxy.ConnectAsync(none);
        using var second = await proxy.ConnectAsync(unset);
        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);
        time.Advance(TimeSpan.FromDays(1));

        await Net.RoundTripAsync(first);
        await Net.RoundTripAsync(second);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.idle_timeouts"));
    }

    [Fact]
    public async Task Connect_timeout_closes_the_client_when_the_upstream_never_answers()
    {
        using var blackHole = BlackHole.Create();
        var resolver = new SignallingResolver(IPAddress.Loopback);
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(time: time, resolver: resolver);
        var listener = Loopback();
        var timeout = TimeSpan.FromSeconds(3);
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream("black-hole.test", blackHole.Port, isIpLiteral: false, "slow", connectTimeout: timeout)))));

        using var client = await proxy.ConnectAsync(listener);
        await resolver.Called.Task.WaitAsync(Net.Deadline, TestContext.Current.CancellationToken); // the connect deadline is armed before resolution

        time.Advance(timeout - OneMs);
        // A bounded look (200 ms) for a premature close, which would arrive asynchronously after Advance.
        Assert.False(client.Poll(200_000, SelectMode.SelectRead), "the client must stay open before the connect timeout");
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures"));

        time.Advance(OneMs);
        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=ConnectTimeout") == 1, "connect timeout counted");
    }

    [Fact]
    public async Task An_address_that_never_answers_leaves_the_rest_of_the_timeout_to_the_next_address()
    {
        // The name resolves to a black hole first (as an IPv6 address that swallows SYNs would be tried first) and to a
        // working upstream on another loopback address with the same port second.
        using var blackHole = BlackHole.Create();
        await using var upstream = TestUpstream.Echo(IPAddress.Parse("127.0.0.2"), blackHole.Port);
        var resolver = new SignallingResolver(IPAddress.Loopback, IPAddress.Parse("127.0.0.2"));
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyHarness(time: time, resolver: resolver);
        var listener = Loopback();
        var timeout = TimeSpan.FromSeconds(3);
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream("two-addresses.test", blackHole.Port, isIpLiteral: false, "fallback", connectTimeout: timeout)))));

        using var client = await proxy.ConnectAsync(listener);
        await resolver.Called.Task.WaitAsync(Net.Deadline, TestContext.Current.CancellationToken);

        // Half of the 3 s goes to the first of two addresses; then the second is tried and answers at once. The first
        // attempt may arm its deadline a moment after the resolver returned, so fake time moves on in small steps
        // (never reaching the overall timeout, which would close the client instead).
        time.Advance(timeout / 2);
        var advanced = timeout / 2;
        var step = TimeSpan.FromMilliseconds(100);
        while (upstream.Count == 0 && advanced + step < timeout)
        {
            var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(300);
            while (upstream.Count == 0 && DateTime.UtcNow < until)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            if (upstream.Count == 0)
            {
                time.Advance(step);
                advanced += step;
            }
        }

        // Fake time now stands just short of the overall timeout, so it can never fire: if the first address kept the
        // whole budget, the second would never be dialled. A loaded machine may take a while to run the dial the last
        // step released, so the wait for it is in real time.
        var dialled = upstream.Count > 0 || await Eventually.TrueAsync(() => Task.FromResult(upstream.Count > 0), TimeSpan.FromSeconds(15));
        Assert.True(dialled && upstream.Count == 1, $"the second address must be dialled before the overall timeout (fake time advanced {advanced})");
        client.Send("ping"u8);
        var buffer = new byte[4];
        var read = 0;
        while (read < 4)
        {
            var n = await client.ReceiveAsync(buffer.AsMemory(read), TestContext.Current.CancellationToken).AsTask().WaitAsync(Net.Deadline, TestContext.Current.CancellationToken);
            Assert.True(n > 0, "the connection must stay open");
            read += n;
        }

        Assert.Equal("ping"u8.ToArray(), buffer);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures"));
    }

    /// <summary>A listening socket with backlog 1 whose accept queue is filled first: Linux then drops further SYNs.</summary>
    private sealed class BlackHole : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _fillers = [];

        private BlackHole(Socket listener) => _listener = listener;

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static BlackHole Create()
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var hole = new BlackHole(listener);
            for (var i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                hole._fillers.Add(filler);
                var connect = filler.ConnectAsync(listener.LocalEndPoint!);
                // A loopback connect into a queue with room completes in microseconds; one second of silence
                // (even on a loaded machine) means the SYN was dropped.
                if (!connect.Wait(TimeSpan.FromSeconds(1)))
                {
                    return hole; // this SYN was dropped: the queue is full
                }
            }

            throw new InvalidOperationException("could not fill the accept queue; SYNs are not dropped on this system");
        }

        public void Dispose()
        {
            foreach (var s in _fillers)
            {
                s.Dispose();
            }

            _listener.Dispose();
        }
    }

    private sealed class SignallingResolver(params IPAddress[] addresses) : IUpstreamResolver
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken)
        {
            Called.TrySetResult();
            return ValueTask.FromResult(addresses);
        }
    }
}
