using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Model.Networks;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>
/// Upstreams on the gateway's own endpoints, link-local or cloud metadata addresses, or outside the tenant's
/// allowedUpstreams are refused at connect time, for every address a name resolves to; no connection reaches them.
/// </summary>
public sealed class UpstreamGuardTests
{
    [Fact]
    public async Task A_loopback_upstream_on_a_protected_port_is_refused_while_another_loopback_port_works()
    {
        await using var guarded = TestUpstream.Sink();
        await using var open = TestUpstream.Echo();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProtectedPorts = [guarded.EndPoint.Port] });
        var toGuarded = Loopback(1);
        var toOpen = Loopback(2);
        await proxy.ApplyBoundAsync(Plan(
            Cleartext(toGuarded, Route(Upstream(guarded.EndPoint, "sneaky"))),
            Cleartext(toOpen, Route(Upstream(open.EndPoint, "honest")))));

        using (var client = await proxy.ConnectAsync(toGuarded))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(client));
        }

        await AssertForbiddenAsync(proxy, "sneaky");
        Assert.Equal(0, guarded.Count);
        Assert.Contains(proxy.Logs.Lines, l => l.Level == LogLevel.Warning
            && l.Message.Contains("default/sneaky") && l.Message.Contains("tenant-a") && l.Message.Contains(guarded.EndPoint.ToString()));

        using var other = await proxy.ConnectAsync(toOpen);
        await Net.RoundTripAsync(other);
        Assert.Equal(1, open.Count);
    }

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("168.63.129.16")]
    [InlineData("169.254.1.1")]
    public async Task Metadata_wireserver_and_link_local_upstreams_are_refused_without_dialling(string address)
    {
        // A long connect timeout: if the guard let the dial happen, the close would come late or for another reason.
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream(new IPEndPoint(IPAddress.Parse(address), 80), "metadata", connectTimeout: TimeSpan.FromSeconds(60))))));

        var watch = Stopwatch.StartNew();
        using var client = await proxy.ConnectAsync(listener);

        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"closed after {watch.Elapsed}");
        await AssertForbiddenAsync(proxy, "metadata");
    }

    [Fact]
    public async Task A_link_local_upstream_is_dialled_when_allowed()
    {
        await using var proxy = new ProxyHarness(new ProxyOptions { AllowLinkLocalUpstreams = true });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream(new IPEndPoint(IPAddress.Parse("169.254.1.1"), 80), "link-local", connectTimeout: TimeSpan.FromMilliseconds(200))))));

        // Where something answers on 169.254.1.1 (an intercepting sandbox) the dial succeeds; either way the connection ends
        // once the client leaves, and its reason is the dial's outcome, not the guard's.
        using (var client = await proxy.ConnectAsync(listener))
        {
            await client.SendAsync(new byte[] { 1 });
        }

        await Eventually.Until(() => proxy.Logs.Category(ProxyLog.AccessLogCategory).Any(l => l.Contains("mapping=default/link-local")), "access logged");
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=UpstreamForbidden"));
    }

    [Fact]
    public async Task A_name_resolving_to_loopback_on_a_protected_port_is_refused()
    {
        await using var guarded = TestUpstream.Sink();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProtectedPorts = [guarded.EndPoint.Port] }, resolver: DnsUpstreamResolver.Instance);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream("localhost", guarded.EndPoint.Port, isIpLiteral: false, "by-name")))));

        using var client = await proxy.ConnectAsync(listener);

        Assert.Equal("eof", await Net.ObserveEndAsync(client));
        await AssertForbiddenAsync(proxy, "by-name");
        Assert.Equal(0, guarded.Count);
    }

    [Fact]
    public async Task A_mapping_to_a_listener_of_the_plan_is_a_loop_and_is_refused()
    {
        await using var proxy = new ProxyHarness();
        var loop = new ListenerEndpoint("127.0.0.1", Ports.Free());
        var other = new ListenerEndpoint("127.0.0.1", Ports.Free());
        await proxy.ApplyBoundAsync(Plan(
            Cleartext(loop, Route(Upstream(new IPEndPoint(IPAddress.Loopback, loop.Port), "self"))),
            Cleartext(other, Route(Upstream(new IPEndPoint(IPAddress.Loopback, loop.Port), "into-another")))));

        foreach (var (listener, mapping) in new[] { (loop, "self"), (other, "into-another") })
        {
            using var client = await proxy.ConnectAsync(listener);
            Assert.Equal("eof", await Net.ObserveEndAsync(client));
            await Eventually.Until(() => proxy.Logs.Category(ProxyLog.AccessLogCategory)
                .Any(l => l.Contains($"mapping=default/{mapping}") && l.Contains("reason=UpstreamForbidden")), $"{mapping} refused");
        }

        // Each client connection is the only one: nothing was relayed back into a listener.
        Assert.Equal(2, proxy.Metrics.Sum("ogw.proxy.connections"));
    }

    [Fact]
    public async Task Another_silos_control_port_is_refused_once_the_cluster_reports_it_and_not_before()
    {
        await using var otherSilo = TestUpstream.Sink();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(otherSilo.EndPoint, "to-silo")))));

        proxy.Server.UseClusterEndpoints([IPAddress.Parse("192.0.2.10")], [otherSilo.EndPoint.Port]);
        using (var client = await proxy.ConnectAsync(listener))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(client));
        }

        await AssertForbiddenAsync(proxy, "to-silo");
        Assert.Equal(0, otherSilo.Count);
    }

    [Fact]
    public async Task A_listener_on_a_port_of_the_gateway_is_not_bound()
    {
        var own = Ports.Free();
        var cluster = Ports.Free();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProtectedPorts = [own] });
        proxy.Server.UseClusterEndpoints([], [cluster]);

        var result = await proxy.ApplyAsync(Plan(
            Cleartext(new ListenerEndpoint("127.0.0.1", own), Route(Upstream(new IPEndPoint(IPAddress.Loopback, 9), "a"))),
            Cleartext(new ListenerEndpoint("0.0.0.0", cluster), Route(Upstream(new IPEndPoint(IPAddress.Loopback, 9), "b")))));

        Assert.All(result.Listeners, l =>
        {
            Assert.False(l.Bound);
            Assert.Contains("reserved for the gateway itself", l.Error);
        });
        Assert.Null(proxy.Server.GetLocalEndPoint(new ListenerEndpoint("127.0.0.1", own)));
    }

    [Fact]
    public async Task The_tenants_allowed_upstreams_decide_and_loopback_needs_a_loopback_range()
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        var plan = Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, "app"))));

        // 0.0.0.0/0 and a range of documentation addresses: neither reaches loopback.
        await proxy.ApplyBoundAsync(plan with { UpstreamPolicies = Policy("0.0.0.0/0", "::/0", "192.0.2.0/24", "*") });
        using (var client = await proxy.ConnectAsync(listener))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(client));
        }

        await AssertForbiddenAsync(proxy, "app");
        Assert.Equal(0, upstream.Count);
        Assert.Contains(proxy.Logs.Lines, l => l.Message.Contains("quota AllowedUpstreams: 0.0.0.0/0, ::/0, 192.0.2.0/24, *"));

        await proxy.ApplyBoundAsync(plan with { UpstreamPolicies = Policy("127.0.0.1") });
        using var allowed = await proxy.ConnectAsync(listener);
        await Net.RoundTripAsync(allowed);
        Assert.Equal(1, upstream.Count);
    }

    [Fact]
    public async Task Every_address_a_name_resolves_to_is_checked_and_only_allowed_ones_are_dialled()
    {
        await using var inside = TestUpstream.Echo(IPAddress.Parse("127.0.0.2"));
        await using var outside = new TestUpstream(async s => await s.ReceiveAsync(new byte[1]), IPAddress.Loopback, inside.EndPoint.Port);
        var resolver = new FixedResolver(IPAddress.Loopback, IPAddress.Parse("127.0.0.2"));
        await using var proxy = new ProxyHarness(resolver: resolver);
        var listener = Loopback();
        var upstream = Upstream("app.internal.test", inside.EndPoint.Port, isIpLiteral: false, "by-name");

        // Both addresses of the DNS answer are loopback, 127.0.0.1 first: the quota grants 127.0.0.2 only, so the socket
        // on 127.0.0.1 (same port) is never dialled.
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(upstream))) with { UpstreamPolicies = Policy("127.0.0.2/32", "*.internal.test") });
        using (var client = await proxy.ConnectAsync(listener))
        {
            await Net.RoundTripAsync(client);
        }

        Assert.Equal(1, inside.Count);
        Assert.Equal(0, outside.Count);

        // A quota of globs only reaches nothing: a name is only ever a way to addresses, which must be in a range.
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(upstream))) with { UpstreamPolicies = Policy("*") });
        using (var client = await proxy.ConnectAsync(listener))
        {
            Assert.Equal("eof", await Net.ObserveEndAsync(client));
        }

        await AssertForbiddenAsync(proxy, "by-name");
        Assert.Equal(1, inside.Count);
    }

    [Fact]
    public async Task Refusals_are_counted_each_time_but_logged_once_a_minute_per_mapping()
    {
        await using var target = TestUpstream.Sink();
        await using var proxy = new ProxyHarness(new ProxyOptions { ProtectedPorts = [target.EndPoint.Port] });
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(target.EndPoint, "noisy")))));

        for (var i = 0; i < 5; i++)
        {
            using var client = await proxy.ConnectAsync(listener);
            Assert.Equal("eof", await Net.ObserveEndAsync(client));
        }

        await Eventually.Until(() => proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=UpstreamForbidden") == 5, "5 refusals counted");
        Assert.Single(proxy.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("default/noisy"));
        Assert.Equal(0, target.Count);
    }

    [Fact]
    public void The_log_limiter_lets_one_line_per_interval_through_and_counts_the_rest()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogRateLimiter(time, TimeSpan.FromMinutes(1));

        Assert.True(limiter.TryEnter("a", out var first));
        Assert.False(limiter.TryEnter("a", out _));
        Assert.False(limiter.TryEnter("a", out _));
        Assert.True(limiter.TryEnter("b", out _));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limiter.TryEnter("a", out var later));

        Assert.Equal(0, first);
        Assert.Equal(2, later);
    }

    [Theory]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("127.3.4.5", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::", true)]
    [InlineData("::1", true)]
    [InlineData("192.0.2.1", false)]
    public void Local_addresses_are_protected_only_on_protected_ports(string address, bool local)
    {
        var guard = Guard(new ProxyOptions { ProtectedPorts = [30000] });

        Assert.Equal(local, guard.Refusal(Upstream(new IPEndPoint(IPAddress.Parse(address), 30000)), new IPEndPoint(IPAddress.Parse(address), 30000)) is not null);
        Assert.Null(guard.Refusal(Upstream(new IPEndPoint(IPAddress.Parse(address), 9000)), new IPEndPoint(IPAddress.Parse(address), 9000)));
    }

    [Theory]
    [InlineData("169.254.0.1", false, null, true)]
    [InlineData("::ffff:169.254.169.254", true, null, true)]
    [InlineData("169.254.169.254", true, null, true)]
    [InlineData("fd00:ec2::254", false, null, true)]
    [InlineData("168.63.129.16", false, null, true)]
    [InlineData("fe80::1", false, null, true)]
    [InlineData("fe80::1", true, null, false)]
    [InlineData("169.254.0.1", true, null, false)]
    [InlineData("168.63.129.16", false, "168.63.129.16/32", false)]
    [InlineData("169.254.169.254", false, "169.254.0.0/16", false)]
    public void Built_in_addresses_are_refused_on_any_port_unless_opened(string address, bool allowLinkLocal, string? allowUpstream, bool refused)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), 9000);
        var options = new ProxyOptions
        {
            AllowLinkLocalUpstreams = allowLinkLocal,
            AllowedUpstreamNetworks = allowUpstream is null ? [] : [IPNetwork.Parse(allowUpstream)],
        };

        Assert.Equal(refused, Guard(options).Refusal(Upstream(endPoint), endPoint) is not null);
    }

    private static UpstreamGuard Guard(ProxyOptions options) => new(options, new ListLoggerFactory().CreateLogger("guard"), TimeProvider.System);

    private static ImmutableDictionary<string, UpstreamPolicy> Policy(params string[] entries)
    {
        Assert.True(UpstreamPolicy.TryParse(entries, out var policy, out var error), error);
        return ImmutableDictionary<string, UpstreamPolicy>.Empty.Add("tenant-a", policy);
    }

    private static async Task AssertForbiddenAsync(ProxyHarness proxy, string mapping)
    {
        await Eventually.Until(() => proxy.Logs.Category(ProxyLog.AccessLogCategory)
            .Any(l => l.Contains($"mapping=default/{mapping}") && l.Contains("reason=UpstreamForbidden")), $"{mapping} logged as UpstreamForbidden");
        Assert.True(proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=UpstreamForbidden") >= 1);
    }

    private sealed class FixedResolver(params IPAddress[] addresses) : IUpstreamResolver
    {
        public ValueTask<IPAddress[]> ResolveAsync(string host, ResolverPlan resolver, CancellationToken cancellationToken) => ValueTask.FromResult(addresses);
    }
}
