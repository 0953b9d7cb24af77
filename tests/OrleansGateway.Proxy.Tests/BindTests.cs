using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Bind failures are reported per listener and never stop the others.</summary>
public sealed class BindTests
{
    [Fact]
    public async Task A_port_in_use_fails_only_its_listener_and_is_retried_by_the_next_apply()
    {
        await using var upstream = TestUpstream.Echo();
        var occupier = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupier.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupier.Listen(1);
        var busy = new ListenerEndpoint("127.0.0.1", ((IPEndPoint)occupier.LocalEndPoint!).Port);
        var free = Loopback(5);
        await using var proxy = new ProxyHarness();
        var plan = Plan(Cleartext(busy, Route(Upstream(upstream.EndPoint, "busy"))), Cleartext(free, Route(Upstream(upstream.EndPoint, "free"))));

        var result = await proxy.ApplyAsync(plan);

        var failed = Assert.Single(result.Failed);
        Assert.Equal(busy, failed.Endpoint);
        Assert.Equal($"127.0.0.1:{busy.Port} is already in use by another process; stop it or choose another port", failed.Error);
        Assert.Contains(Mapping("busy"), failed.Resources);
        Assert.Same(result, proxy.Server.LastApply);
        using (var client = await proxy.ConnectAsync(free))
        {
            await Net.RoundTripAsync(client);
        }

        occupier.Dispose();
        var retried = await proxy.ApplyAsync(plan);
        Assert.Empty(retried.Failed);
        using var nowServed = await proxy.ConnectAsync(busy);
        await Net.RoundTripAsync(nowServed);
    }

    [Fact]
    public async Task The_ipv6_wildcard_address_takes_ipv4_clients_too()
    {
        Assert.SkipUnless(Socket.OSSupportsIPv6, "this machine has no IPv6 stack, so \"::\" cannot be bound");

        await using var upstream = TestUpstream.Echo();
        var port = Ports.Free();
        await using var proxy = new ProxyHarness();

        await proxy.ApplyBoundAsync(Plan(Cleartext(new ListenerEndpoint("::", port), Route(Upstream(upstream.EndPoint)))));

        // `address: "::"` means every address, as the bind-conflict check assumes: an IPv4 client gets through.
        using var client = await Net.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await Net.RoundTripAsync(client);
    }

    [Fact]
    public async Task A_listener_moved_from_the_wildcard_address_to_one_address_rebinds_the_same_port()
    {
        await using var upstream = TestUpstream.Echo();
        var port = Ports.Free();
        await using var proxy = new ProxyHarness();
        await proxy.ApplyBoundAsync(Plan(Cleartext(new ListenerEndpoint("0.0.0.0", port), Route(Upstream(upstream.EndPoint)))));

        var moved = new ListenerEndpoint("127.0.0.1", port);
        var result = await proxy.ApplyAsync(Plan(Cleartext(moved, Route(Upstream(upstream.EndPoint)))));

        Assert.Empty(result.Failed);
        using var client = await proxy.ConnectAsync(moved);
        await Net.RoundTripAsync(client);
    }

    [Fact]
    public async Task A_wildcard_listener_and_a_specific_one_on_the_same_port_name_each_other()
    {
        await using var upstream = TestUpstream.Echo();
        var port = Ports.Free();
        await using var proxy = new ProxyHarness();

        var result = await proxy.ApplyAsync(Plan(
            Cleartext(new ListenerEndpoint("0.0.0.0", port), Route(Upstream(upstream.EndPoint))),
            Cleartext(new ListenerEndpoint("127.0.0.1", port), Route(Upstream(upstream.EndPoint)))));

        var failed = Assert.Single(result.Failed);
        Assert.Equal(new ListenerEndpoint("127.0.0.1", port), failed.Endpoint);
        Assert.Contains($"conflicts with listener 'listener-0.0.0.0-{port}' on 0.0.0.0:{port}", failed.Error);
    }

    [Theory]
    [InlineData("not-an-address", "is not an IP address")]
    [InlineData("192.0.2.77", "is not assigned to any interface of this machine")]
    public async Task A_bad_address_is_reported_with_a_clear_message(string address, string expected)
    {
        await using var upstream = TestUpstream.Echo();
        await using var proxy = new ProxyHarness();
        var good = Loopback(6);

        var result = await proxy.ApplyAsync(Plan(
            Cleartext(new ListenerEndpoint(address, 0), Route(Upstream(upstream.EndPoint))),
            Cleartext(good, Route(Upstream(upstream.EndPoint)))));

        Assert.Contains(expected, Assert.Single(result.Failed).Error);
        using var client = await proxy.ConnectAsync(good);
        await Net.RoundTripAsync(client);
    }

    /// <summary>Set in the child process that <see cref="RunWithoutBindCapabilityAsync"/> starts, so that it never starts another.</summary>
    private const string WithoutCapabilityVariable = "OGW_TEST_WITHOUT_NET_BIND_SERVICE";

    [Fact]
    public async Task A_privileged_port_without_the_capability_says_what_is_needed()
    {
        if (IsPortBindable(80))
        {
            // This process may bind port 80 (root, or CAP_NET_BIND_SERVICE): the refusal is checked in a child process
            // that runs this very test without the capability.
            Assert.SkipWhen(
                Environment.GetEnvironmentVariable(WithoutCapabilityVariable) is not null,
                "port 80 is bindable even without CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start is 80 or lower)");
            await RunWithoutBindCapabilityAsync(nameof(A_privileged_port_without_the_capability_says_what_is_needed));
            return;
        }

        await using var proxy = new ProxyHarness();
        var result = await proxy.ApplyAsync(Plan(Cleartext(new ListenerEndpoint("127.0.0.1", 80), Route(Upstream(new IPEndPoint(IPAddress.Loopback, 1))))));

        Assert.Equal("binding port 80 needs root or CAP_NET_BIND_SERVICE", Assert.Single(result.Failed).Error);
    }

    private static bool IsPortBindable(int port)
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode != SocketError.AccessDenied;
        }
    }

    /// <summary>
    /// Runs one test of this assembly (an xunit v3 test project is its own executable) in a child process whose
    /// capability sets lack CAP_NET_BIND_SERVICE (util-linux setpriv), and fails with the child's output unless that test
    /// passed there; skips with the child's reason when it skipped.
    /// </summary>
    private static async Task RunWithoutBindCapabilityAsync(string method)
    {
        const string setpriv = "/usr/bin/setpriv";
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists(setpriv),
            "this process may bind port 80 and setpriv (Debian package util-linux) is not here to drop CAP_NET_BIND_SERVICE");
        var testExecutable = Path.ChangeExtension(typeof(BindTests).Assembly.Location, null);
        var start = new ProcessStartInfo(setpriv)
        {
            ArgumentList =
            {
                "--inh-caps=-net_bind_service", "--bounding-set=-net_bind_service", "--", testExecutable,
                "-method", $"{typeof(BindTests).FullName}.{method}", "-noLogo", "-noColor",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment[WithoutCapabilityVariable] = "1";
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await child.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        var report = await output + await error;

        var summary = Regex.Match(report, @"Total: (\d+), Errors: (\d+), Failed: (\d+), Skipped: (\d+)");
        Assert.True(child.ExitCode == 0 && summary.Success && summary.Groups[1].Value == "1", $"the test without CAP_NET_BIND_SERVICE (exit {child.ExitCode}):\n{report}");
        var skip = Regex.Match(report, @"\[SKIP\][^\n]*\n\s*(.+)");
        Assert.SkipWhen(summary.Groups[4].Value != "0", $"without CAP_NET_BIND_SERVICE: {(skip.Success ? skip.Groups[1].Value.Trim() : report)}");
    }
}

public sealed class AcceptBackoffTests
{
    [Fact]
    public void Delays_double_from_5_ms_up_to_1_s_and_reset_after_an_accept()
    {
        var backoff = new AcceptBackoff();
        var delays = Enumerable.Range(0, 10).Select(_ => (int)backoff.Next().TotalMilliseconds).ToArray();

        Assert.Equal([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000], delays);
        backoff.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(5), backoff.Next());
    }
}
