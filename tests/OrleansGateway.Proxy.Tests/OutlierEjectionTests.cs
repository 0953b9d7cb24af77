using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// Outlier ejection of canary members over real sockets (docs/tcpmapping-semantics.md, "Outlier ejection"): a member
/// whose connects fail 5 times in a row gets no new connections for 30 s (doubled on each re-ejection) while the others
/// keep their relative weights; the last healthy member stays; <c>outlier-detection: "off"</c> turns it off; a TCP
/// health check ejects and restores on its own. Time is a <see cref="FakeTimeProvider"/>, picks a seeded random source.
/// </summary>
public sealed class OutlierEjectionTests
{
    private static readonly string ServerCategory = typeof(ProxyServer).FullName!;

    [Fact]
    public async Task A_dead_member_is_ejected_after_5_failures_the_others_keep_their_weights_and_it_is_tried_again_after_30_s()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = TestUpstream.Sink();
        await using var b = TestUpstream.Sink();
        await using var dead = new LateUpstream();
        await using var proxy = new ProxyHarness(time: time, random: new SeededRandom(20261207));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(
            Upstream(a.EndPoint, "a", share: 50),
            Upstream(b.EndPoint, "b", share: 30),
            Upstream(dead.EndPoint, "dead", share: 20)))));
        var endPoint = proxy.EndPointOf(listener);
        int Reached() => a.Count + b.Count + dead.Count;

        // One connection at a time, so the count of failures before the ejection is exact.
        var failures = 0;
        for (var i = 0; i < 500 && failures < 5; i++)
        {
            failures += await AttemptAsync(endPoint, Reached) ? 0 : 1;
        }

        Assert.Equal(5, failures);
        var ejection = Assert.Single(proxy.Server.GetStatus().Ejections);
        Assert.Equal(("default/dead", "tenant-a", 1, (string?)null), (ejection.Mapping, ejection.Tenant, ejection.Ejection, ejection.Host));
        Assert.Equal(TimeSpan.FromSeconds(30), ejection.Until - ejection.Since);
        Assert.Contains("5 connection attempts in a row failed", ejection.Reason, StringComparison.Ordinal);
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.outlier.ejections", "mapping=dead"));
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.outlier.ejected"));

        // Ejected: every new connection reaches a or b, in their proportion 50:30 (62.5 % to a).
        var (a0, b0) = (a.Count, b.Count);
        const int After = 800;
        for (var i = 0; i < After; i++)
        {
            Assert.True(await AttemptAsync(endPoint, Reached), $"connection {i} after the ejection reached a healthy member");
        }

        var toA = (a.Count - a0) * 100.0 / After;
        Assert.Equal(After, a.Count - a0 + b.Count - b0);
        Assert.InRange(toA, 62.5 - 5, 62.5 + 5);
        Assert.Equal(0, dead.Count);
        Assert.Single(Lines(proxy, LogLevel.Warning, "ejected for 30s"));

        // The ejection ends after 30 s and the member is tried again: now it listens, so it gets connections.
        dead.Revive();
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Single(proxy.Server.GetStatus().Ejections);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(proxy.Server.GetStatus().Ejections);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.outlier.ejected"));
        Assert.Single(Lines(proxy, LogLevel.Information, "is back in its group"));
        for (var i = 0; i < 500 && dead.Count == 0; i++)
        {
            Assert.True(await AttemptAsync(endPoint, Reached));
        }

        Assert.True(dead.Count > 0, "the member got connections again after its ejection");
        Assert.Single(Lines(proxy, LogLevel.Warning, "ejected"));
    }

    [Fact]
    public async Task A_member_still_dead_after_its_ejection_is_ejected_again_for_twice_as_long()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = TestUpstream.Sink();
        await using var dead = new LateUpstream();
        await using var proxy = new ProxyHarness(time: time, random: new SeededRandom(7));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(a.EndPoint, "a", share: 50), Upstream(dead.EndPoint, "dead", share: 50)))));
        var endPoint = proxy.EndPointOf(listener);

        await FailUntilEjectedAsync(proxy, endPoint, () => a.Count);
        Assert.Equal(TimeSpan.FromSeconds(30), Ejected(proxy).Until - Ejected(proxy).Since);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(proxy.Server.GetStatus().Ejections);

        await FailUntilEjectedAsync(proxy, endPoint, () => a.Count);
        Assert.Equal((2, TimeSpan.FromSeconds(60)), (Ejected(proxy).Ejection, Ejected(proxy).Until - Ejected(proxy).Since));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Single(proxy.Server.GetStatus().Ejections);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(proxy.Server.GetStatus().Ejections);
        Assert.Equal(2, proxy.Metrics.Sum("ogw.proxy.outlier.ejections"));
    }

    [Fact]
    public void Ejections_last_30_s_doubled_each_time_and_at_most_300_s()
        => Assert.Equal(
            new[] { 30, 60, 120, 240, 300, 300, 300 },
            Enumerable.Range(0, 7).Select(n => (int)OutlierGroup.EjectionLength(n).TotalSeconds));

    [Fact]
    public async Task The_last_healthy_member_is_never_ejected()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var first = new LateUpstream();
        await using var second = new LateUpstream();
        await using var proxy = new ProxyHarness(time: time, random: new SeededRandom(11));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(first.EndPoint, "first", share: 50), Upstream(second.EndPoint, "second", share: 50)))));
        var endPoint = proxy.EndPointOf(listener);

        for (var i = 0; i < 40; i++)
        {
            Assert.False(await AttemptAsync(endPoint, () => 0));
        }

        // One of the two left; the other takes every connection (and fails it) instead of the group taking none.
        var ejection = Assert.Single(proxy.Server.GetStatus().Ejections);
        var left = ejection.Mapping == "default/first" ? "second" : "first";
        Assert.True(proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", $"mapping={left}") >= 40 - 10, "the last member kept being tried");
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.outlier.ejections"));
        Assert.Single(Lines(proxy, LogLevel.Warning, "ejected"));
    }

    [Fact]
    public async Task Outlier_detection_off_on_one_member_turns_it_off_for_the_group()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = TestUpstream.Sink();
        await using var dead = new LateUpstream();
        await using var proxy = new ProxyHarness(time: time, random: new SeededRandom(13));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(
            Upstream(a.EndPoint, "a", share: 50) with { NoOutlierDetection = true },
            Upstream(dead.EndPoint, "dead", share: 50)))));
        var endPoint = proxy.EndPointOf(listener);

        var failures = 0;
        for (var i = 0; i < 60; i++)
        {
            failures += await AttemptAsync(endPoint, () => a.Count) ? 0 : 1;
        }

        Assert.True(failures > 10, $"the dead member kept getting its share ({failures} of 60 failed)");
        Assert.Empty(proxy.Server.GetStatus().Ejections);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.outlier.ejections"));
        Assert.Empty(Lines(proxy, LogLevel.Warning, "ejected"));
    }

    [Fact]
    public async Task A_tcp_health_check_ejects_a_dead_member_before_any_client_is_sent_there_and_restores_it_when_it_answers()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = TestUpstream.Sink();
        await using var late = new LateUpstream();
        await using var proxy = new ProxyHarness(time: time, random: new SeededRandom(17));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(
            Upstream(a.EndPoint, "a", share: 50),
            Upstream(late.EndPoint, "late", share: 50) with { HealthCheckInterval = TimeSpan.FromSeconds(5) }))));
        var endPoint = proxy.EndPointOf(listener);

        var ejection = await Eventually.Get(() => Task.FromResult(proxy.Server.GetStatus().Ejections), e => !e.IsEmpty, "the health check ejected the member");
        Assert.Null(Assert.Single(ejection).Until);
        Assert.Contains("health check failed", ejection[0].Reason, StringComparison.Ordinal);
        for (var i = 0; i < 40; i++)
        {
            Assert.True(await AttemptAsync(endPoint, () => a.Count + late.Count), "no client is sent to the member the check ejected");
        }

        late.Revive();
        time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.Until(() => proxy.Server.GetStatus().Ejections.IsEmpty, "the passing check restored the member");
        Assert.Single(Lines(proxy, LogLevel.Information, "health check passed"));
        var checks = late.Count;
        for (var i = 0; i < 200 && late.Count == checks; i++)
        {
            Assert.True(await AttemptAsync(endPoint, () => a.Count + late.Count));
        }

        Assert.True(late.Count > checks, "clients reach the restored member");
    }

    [Fact]
    public async Task A_health_check_never_dials_an_address_the_gateway_forbids_and_such_a_refusal_ejects_nobody()
    {
        // Attacker: a tenant points a checked member at the gateway's own control port to probe it every second.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var guarded = TestUpstream.Sink();
        await using var a = TestUpstream.Sink();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProtectedPorts = [guarded.EndPoint.Port] }, time: time);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(
            Upstream(a.EndPoint, "a", share: 50),
            Upstream(guarded.EndPoint, "probe", share: 50) with { HealthCheckInterval = TimeSpan.FromSeconds(1) }))));

        await Eventually.Until(() => proxy.Logs.Lines.Any(l => l.Message.Contains("default/probe", StringComparison.Ordinal)), "the refused check is logged");
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, guarded.Count);
        Assert.Empty(proxy.Server.GetStatus().Ejections);
    }

    [Fact]
    public async Task A_group_removed_from_the_plan_takes_its_ejections_with_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = TestUpstream.Sink();
        await using var dead = new LateUpstream();
        await using var proxy = new ProxyHarness(time: time, random: new SeededRandom(19));
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(a.EndPoint, "a", share: 50), Upstream(dead.EndPoint, "dead", share: 50)))));
        await FailUntilEjectedAsync(proxy, proxy.EndPointOf(listener), () => a.Count);

        await proxy.ApplyBoundAsync(Plan(Cleartext(Loopback(2), Route(Upstream(a.EndPoint, "a")))));

        Assert.Empty(proxy.Server.GetStatus().Ejections);
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.outlier.ejected"));
    }

    /// <summary>Connections one at a time until the dead member is ejected (it fails every one it gets).</summary>
    private static async Task FailUntilEjectedAsync(ProxyHarness proxy, IPEndPoint endPoint, Func<int> reached)
    {
        for (var i = 0; i < 500 && proxy.Server.GetStatus().Ejections.IsEmpty; i++)
        {
            await AttemptAsync(endPoint, reached);
        }

        Assert.Single(proxy.Server.GetStatus().Ejections);
    }

    private static MemberEjection Ejected(ProxyHarness proxy) => Assert.Single(proxy.Server.GetStatus().Ejections);

    private static IEnumerable<string> Lines(ProxyHarness proxy, LogLevel level, string containing)
        => proxy.Logs.Lines.Where(l => l.Category == ServerCategory && l.Level == level && l.Message.Contains(containing, StringComparison.Ordinal)).Select(l => l.Message);

    /// <summary>
    /// One client connection through the proxy: true once an upstream accepted it (<paramref name="reached"/> grew),
    /// false when the proxy closed it without (the member's connect failed).
    /// </summary>
    private static async Task<bool> AttemptAsync(IPEndPoint endPoint, Func<int> reached)
    {
        var before = reached();
        using var client = await Net.ConnectAsync(endPoint);
        var receive = client.ReceiveAsync(new byte[1].AsMemory(), SocketFlags.None).AsTask();
        var deadline = DateTime.UtcNow + Net.Deadline;
        while (reached() == before && !receive.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the connection neither reached an upstream nor was closed");
            await Task.Delay(1);
        }

        // An upstream that accepted keeps the connection open (it never closes first), so a close means the connect failed.
        var ok = reached() > before;
        client.Dispose();
        try
        {
            await receive;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The connection was ours to close.
        }

        return ok;
    }

    /// <summary>
    /// A port that refuses connections (bound, not listening) until <see cref="Revive"/>, then accepts and counts them:
    /// a dead member that comes back on the same port, without another process taking it meanwhile.
    /// </summary>
    private sealed class LateUpstream : IAsyncDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Socket> _accepted = [];
        private Task _loop = Task.CompletedTask;
        private int _count;

        public LateUpstream()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        }

        public IPEndPoint EndPoint { get; }

        public int Count => Volatile.Read(ref _count);

        public void Revive()
        {
            _socket.Listen(512);
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    Socket accepted;
                    try
                    {
                        accepted = await _socket.AcceptAsync();
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        return;
                    }

                    lock (_accepted)
                    {
                        _accepted.Add(accepted);
                    }

                    Interlocked.Increment(ref _count);
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            _socket.Dispose();
            await _loop;
            lock (_accepted)
            {
                foreach (var s in _accepted)
                {
                    s.Dispose();
                }
            }
        }
    }
}
