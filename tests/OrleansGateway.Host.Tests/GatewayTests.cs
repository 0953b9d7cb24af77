using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OrleansGateway.Cli.Commands;

namespace OrleansGateway.Host.Tests;

public sealed class GatewayTests : IAsyncLifetime
{
    private EchoServer _echo = null!;

    private string Upstream => $"127.0.0.1:{_echo.Endpoint.Port}";

    public ValueTask InitializeAsync()
    {
        _echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _echo.DisposeAsync();

    [Fact]
    public async Task Bytes_flow_through_a_cleartext_and_a_TLS_terminating_mapping()
    {
        using var dir = new TempConfigDir();
        using var certificate = TestCertificates.SelfSigned("demo.localhost");
        int tcpPort = Ports.Free(), tlsPort = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("plain", tcpPort, Upstream));
        dir.Write("tls.yaml", Yaml.TlsContext("demo", "demo.localhost", "demo-cert") + "\n" + Yaml.TlsSecret("demo-cert", certificate)
            + "\n" + Yaml.TcpMapping("secure", tlsPort, Upstream, host: "demo.localhost"));

        await using var gateway = await RunningGateway.StartAsync(dir.Path);

        Assert.Equal(HttpStatusCode.OK, await gateway.StatusCodeAsync("/readyz"));
        Assert.Equal("hello", await Traffic.EchoAsync(tcpPort, "hello"));
        Assert.Equal("over tls", await Traffic.TlsEchoAsync(tlsPort, "demo.localhost", certificate, "over tls"));
    }

    [Fact]
    public async Task Metrics_count_connections_after_traffic()
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("counted", port, Upstream));
        await using var gateway = await RunningGateway.StartAsync(dir.Path);

        Assert.Equal("ping", await Traffic.EchoAsync(port, "ping"));

        // Prometheus text: the proxy's counter `ogw.proxy.connections` becomes `ogw_proxy_connections_total`.
        var found = await Eventually.TrueAsync(
            async () => (await gateway.Http.GetStringAsync("/metrics")).Split('\n').Any(line => line.StartsWith("ogw_proxy_connections_total{", StringComparison.Ordinal) && !line.EndsWith(" 0", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5));
        Assert.True(found, await gateway.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_new_mapping_file_is_served_within_a_second()
    {
        using var dir = new TempConfigDir();
        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        var port = Ports.Free();

        var written = Stopwatch.StartNew();
        dir.Write("new.yaml", Yaml.TcpMapping("late", port, Upstream));
        var served = await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "late") == "late", TimeSpan.FromSeconds(1.5));

        Assert.True(served, $"not served {written.ElapsedMilliseconds} ms after the file was written");
    }

    [Fact]
    public async Task Breaking_a_file_Discards_only_its_resource_and_the_others_keep_serving()
    {
        using var dir = new TempConfigDir();
        int goodPort = Ports.Free(), badPort = Ports.Free();
        dir.Write("good.yaml", Yaml.TcpMapping("good", goodPort, Upstream));
        dir.Write("bad.yaml", Yaml.TcpMapping("bad", badPort, Upstream));
        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        Assert.Equal("x", await Traffic.EchoAsync(badPort, "x"));

        dir.Write("bad.yaml", Yaml.TcpMapping("bad", badPort, Upstream).Replace($"port: {badPort}", "port: seventy", StringComparison.Ordinal));
        JsonElement status = default;
        var discarded = await Eventually.TrueAsync(
            async () =>
            {
                status = await gateway.StatusAsync();
                return RunningGateway.Resource(status, "TCPMapping", "bad")?.GetProperty("status").GetString() == "Discarded";
            },
            TimeSpan.FromSeconds(5));

        Assert.True(discarded, status.ToString());
        Assert.NotEmpty(RunningGateway.Resource(status, "TCPMapping", "bad")!.Value.GetProperty("messages").EnumerateArray());
        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "good")!.Value.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, await gateway.StatusCodeAsync("/readyz"));
        Assert.Equal("still here", await Traffic.EchoAsync(goodPort, "still here"));
        Assert.DoesNotContain(status.GetProperty("listeners").EnumerateArray(), l => l.GetProperty("port").GetInt32() == badPort);
    }

    [Fact]
    public async Task A_config_directory_that_disappears_keeps_what_was_applied_until_it_is_back()
    {
        using var dir = new TempConfigDir();
        int port = Ports.Free(), laterPort = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("kept", port, Upstream));
        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        Assert.Equal("x", await Traffic.EchoAsync(port, "x"));

        // An unmounted volume or a rename in progress must not read as "delete every resource" (the source prunes
        // what it applied). Over three poll periods the mapping keeps serving and stays Accepted.
        var away = dir.Path + "-away";
        Directory.Move(dir.Path, away);
        try
        {
            var watchedUntil = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (DateTime.UtcNow < watchedUntil)
            {
                Assert.Equal("still", await Traffic.EchoAsync(port, "still"));
                Assert.Equal("Accepted", RunningGateway.Resource(await gateway.StatusAsync(), "TCPMapping", "kept")?.GetProperty("status").GetString());
            }
        }
        finally
        {
            Directory.Move(away, dir.Path);
        }

        // Back, with one more file: the source is alive and applies again.
        dir.Write("later.yaml", Yaml.TcpMapping("later", laterPort, Upstream));
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(laterPort, "later") == "later", TimeSpan.FromSeconds(5)));
        Assert.Equal("again", await Traffic.EchoAsync(port, "again"));
    }

    [Fact]
    public async Task A_port_already_in_use_leaves_readyz_200_reports_it_by_tenant_and_Discards_its_mappings_until_the_port_is_freed()
    {
        using var occupier = new TcpListener(IPAddress.Loopback, 0);
        occupier.Start();
        var busyPort = ((IPEndPoint)occupier.LocalEndpoint).Port;
        var freePort = Ports.Free();
        using var dir = new TempConfigDir();
        dir.Write("mappings.yaml", Yaml.TcpMapping("blocked", busyPort, Upstream) + "\n" + Yaml.TcpMapping("open", freePort, Upstream));

        await using var gateway = await RunningGateway.StartAsync(dir.Path);

        // One tenant's busy port does not take the edge out of its load balancer: it serves everything else.
        Assert.Equal(HttpStatusCode.OK, await gateway.StatusCodeAsync("/healthz"));
        // /readyz is open to anyone: it counts the unbound listeners and names none of them (/status does, with a key).
        using var anonymous = new HttpClient { BaseAddress = gateway.Http.BaseAddress };
        using var readyz = await anonymous.GetAsync("/readyz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, readyz.StatusCode);
        var text = await readyz.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var body = JsonDocument.Parse(text);
        Assert.Equal(1, body.RootElement.GetProperty("unbound").GetInt32());
        Assert.DoesNotContain(busyPort.ToString(CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        Assert.DoesNotContain("blocked", text, StringComparison.Ordinal);
        Assert.Equal("reachable", body.RootElement.GetProperty("controlPlane").GetString());
        var metrics = await gateway.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Matches(@"ogw_edge_listeners_unbound(_listener)?\{[^}]*tenant=""default""[^}]*\} 1", metrics);

        var status = await gateway.StatusAsync();
        var blocked = RunningGateway.Resource(status, "TCPMapping", "blocked")!.Value;
        Assert.Equal("Discarded", blocked.GetProperty("status").GetString());
        Assert.Contains(blocked.GetProperty("messages").EnumerateArray(), m => m.GetString()!.Contains(busyPort.ToString(), StringComparison.Ordinal));
        var listener = Assert.Single(status.GetProperty("listeners").EnumerateArray(), l => l.GetProperty("port").GetInt32() == busyPort);
        Assert.False(listener.GetProperty("bound").GetBoolean());
        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "open")!.Value.GetProperty("status").GetString());
        Assert.Equal("served", await Traffic.EchoAsync(freePort, "served"));

        // Once the port is free the listener is bound without any change to the configuration.
        occupier.Stop();
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(busyPort, "freed") == "freed", TimeSpan.FromSeconds(5)),
            "the listener of a freed port must be bound by the retry");
        Assert.True(await Eventually.TrueAsync(
            async () => JsonDocument.Parse(await gateway.Http.GetStringAsync("/readyz", TestContext.Current.CancellationToken)).RootElement.GetProperty("unbound").GetInt32() == 0,
            TimeSpan.FromSeconds(5)),
            "the freed listener leaves the readiness detail");
    }

    [Fact]
    public async Task The_gateway_reports_the_same_statuses_as_ogw_check()
    {
        using var dir = new TempConfigDir();
        using var certificate = TestCertificates.SelfSigned("demo.localhost");
        using var other = TestCertificates.SelfSigned("other.localhost");
        int port = Ports.Free(), tlsPort = Ports.Free();
        dir.Write("a.yaml", Yaml.TcpMapping("plain", port, Upstream) + "\n" + Yaml.TcpMapping("twin", port, Upstream).Replace("port:", "weight: 300\n  port:", StringComparison.Ordinal));
        dir.Write("b.yaml", Yaml.TlsContext("ctx", "demo.localhost", "bad-cert") + "\n" + Yaml.TlsSecret("bad-cert", certificate, keyFrom: other)
            + "\n" + Yaml.TcpMapping("secure", tlsPort, Upstream, host: "demo.localhost"));
        dir.Write("c.yaml", "kind: [unclosed\n");
        var check = new StringWriter();
        Cli.Program.Run(["check", dir.Path, "--output", "json", "--bind-address", "127.0.0.1"], check, TextWriter.Null);

        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        var status = await gateway.StatusAsync();

        using var offline = JsonDocument.Parse(check.ToString());
        Assert.Equal(offline.RootElement.GetProperty("resources").ToString(), status.GetProperty("resources").ToString());
        Assert.Equal(offline.RootElement.GetProperty("diagnostics").ToString(), status.GetProperty("diagnostics").ToString());
        Assert.Contains(status.GetProperty("resources").EnumerateArray(), r => r.GetProperty("status").GetString() == "Discarded");
    }

    [Fact]
    public async Task Status_has_the_check_report_shape_plus_generation_and_bind_state()
    {
        using var dir = new TempConfigDir();
        dir.Write("tcp.yaml", Yaml.TcpMapping("plain", Ports.Free(), Upstream));
        await using var gateway = await RunningGateway.StartAsync(dir.Path);

        var status = await gateway.StatusAsync();

        Assert.Equal(["generation", "ambassadorId", "resources", "listeners", "diagnostics"], status.EnumerateObject().Select(p => p.Name));
        var listener = Assert.Single(status.GetProperty("listeners").EnumerateArray());
        Assert.Equal(["address", "port", "tls", "name", "statsPrefix", "routes", "bound", "error"], listener.EnumerateObject().Select(p => p.Name));
        Assert.True(listener.GetProperty("bound").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, await gateway.StatusCodeAsync("/no-such-endpoint"));
    }
}
