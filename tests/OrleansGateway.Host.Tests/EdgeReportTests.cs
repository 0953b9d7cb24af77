using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Serialization;
using OrleansGateway.Cli.Commands;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Host.Tests;

/// <summary>The real gateway reports its data plane to the cluster and enforces a tenant's connection limit.</summary>
public sealed class EdgeReportTests : IAsyncLifetime
{
    private EchoServer _echo = null!;

    public ValueTask InitializeAsync()
    {
        _echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _echo.DisposeAsync();

    [Fact]
    public async Task The_edge_reports_its_bound_listener_and_live_connections_and_a_quota_refusal()
    {
        using var dir = new TempConfigDir();
        int port = Ports.Free(), siloPort = Ports.Free(), gatewayPort = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("reported", port, $"127.0.0.1:{_echo.Endpoint.Port}"));
        await using var gateway = await RunningGateway.LaunchAsync([
            "--config-dir", dir.Path, "--ambassador-id", "default", "--storage", "memory", "--clustering", "localhost",
            "--silo-port", $"{siloPort}", "--gateway-port", $"{gatewayPort}"]);
        using var client = await ClientAsync(gatewayPort);
        var grains = client.Services.GetRequiredService<IClusterClient>();

        using var held = await OpenAsync(port);
        var reported = await Eventually.TrueAsync(async () =>
        {
            var report = (await grains.GetEdgeStatusGrain("default").GetAsync()).SingleOrDefault();
            var listener = report?.Listeners.SingleOrDefault(l => l.Endpoint.Port == port);
            return report is not null && report.Edge.StartsWith($"127.0.0.1:{siloPort}@", StringComparison.Ordinal)
                && listener is { Bound: true, Error: null } && listener.ActiveConnections.GetValueOrDefault("default") == 1;
        }, TimeSpan.FromSeconds(10));
        Assert.True(reported, "the edge's report with the bound listener and one connection of tenant 'default'");

        // The quota set on the tenant grain reaches the edge: a second connection is refused, and the report says so.
        await grains.GetTenantGrain("default").SetQuotaAsync(new TenantQuota(MaxConcurrentConnections: 1));
        var refused = await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "over") is null or "", TimeSpan.FromSeconds(10));
        Assert.True(refused, "a connection over the limit of 1 is closed");
        await RoundTripAsync(held, "still served");
        var counted = await Eventually.TrueAsync(
            async () => (await grains.GetEdgeStatusGrain("default").GetAsync()).Single().RefusedConnections.GetValueOrDefault("default") >= 1,
            TimeSpan.FromSeconds(10));
        Assert.True(counted, "the refusal in the edge's report");
    }

    private static async Task<Socket> OpenAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        await RoundTripAsync(socket, "held");
        return socket;
    }

    private static async Task RoundTripAsync(Socket socket, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var bytes = Encoding.UTF8.GetBytes(text);
        await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
        var back = new byte[bytes.Length];
        var filled = 0;
        while (filled < back.Length)
        {
            var n = await socket.ReceiveAsync(back.AsMemory(filled), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            filled += n;
        }

        Assert.Equal(text, Encoding.UTF8.GetString(back));
    }

    private static async Task<IHost> ClientAsync(int gatewayPort)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                client.UseLocalhostClustering(gatewayPort, serviceId: "ogw", clusterId: "ogw");
                client.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            })
            .Build();
        await host.StartAsync();
        return host;
    }
}
