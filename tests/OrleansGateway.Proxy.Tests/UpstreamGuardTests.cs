using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Upstreams on the gateway's own ports or link-local addresses are refused at connect time.</summary>
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

    [Fact]
    public async Task A_link_local_upstream_is_refused_without_dialling()
    {
        // A long connect timeout: if the guard let the dial happen, the close would come late or for another reason.
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener,
            Route(Upstream(new IPEndPoint(IPAddress.Parse("169.254.169.254"), 80), "metadata", connectTimeout: TimeSpan.FromSeconds(60))))));

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
            Route(Upstream(new IPEndPoint(IPAddress.Parse("169.254.169.254"), 80), "metadata", connectTimeout: TimeSpan.FromMilliseconds(200))))));

        // Where something answers on 169.254.169.254 (a cloud VM, an intercepting sandbox) the dial succeeds; either way the
        // connection ends once the client leaves, and its reason is the dial's outcome, not the guard's.
        using (var client = await proxy.ConnectAsync(listener))
        {
            await client.SendAsync(new byte[] { 1 });
        }

        await Eventually.Until(() => proxy.Logs.Category(ProxyLog.AccessLogCategory).Any(l => l.Contains("mapping=default/metadata")), "access logged");
        Assert.Equal(0, proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=UpstreamForbidden"));
        Assert.DoesNotContain(proxy.Logs.Category(ProxyLog.AccessLogCategory), l => l.Contains("reason=UpstreamForbidden"));
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

    [Theory]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("127.3.4.5", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::", true)]
    [InlineData("::1", true)]
    [InlineData("192.0.2.1", false)]
    public void Local_addresses_are_protected_only_on_protected_ports(string address, bool local)
    {
        var guard = new UpstreamGuard(new ProxyOptions { ProtectedPorts = [30000] });

        Assert.Equal(local, guard.Refusal(new IPEndPoint(IPAddress.Parse(address), 30000)) is not null);
        Assert.Null(guard.Refusal(new IPEndPoint(IPAddress.Parse(address), 9000)));
    }

    [Theory]
    [InlineData("169.254.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("fe80::1")]
    public void Link_local_addresses_are_refused_on_any_port_unless_allowed(string address)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), 9000);

        Assert.NotNull(new UpstreamGuard(new ProxyOptions()).Refusal(endPoint));
        Assert.Null(new UpstreamGuard(new ProxyOptions { AllowLinkLocalUpstreams = true }).Refusal(endPoint));
    }

    private static async Task AssertForbiddenAsync(ProxyHarness proxy, string mapping)
    {
        await Eventually.Until(() => proxy.Logs.Category(ProxyLog.AccessLogCategory)
            .Any(l => l.Contains($"mapping=default/{mapping}") && l.Contains("reason=UpstreamForbidden")), $"{mapping} logged as UpstreamForbidden");
        Assert.Equal(1, proxy.Metrics.Sum("ogw.proxy.upstream.connect_failures", "reason=UpstreamForbidden"));
    }
}
