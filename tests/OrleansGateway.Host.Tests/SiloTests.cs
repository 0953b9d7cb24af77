using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using Orleans.Serialization;
using OrleansGateway.Cli.Commands;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Host.Tests;

/// <summary>The gateway as an Orleans silo: tenants from subdirectories, and the edge/core roles.</summary>
public sealed class SiloTests : IAsyncLifetime
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
    public async Task Each_subdirectory_is_a_tenant_and_top_level_files_go_to_default()
    {
        using var dir = new TempConfigDir();
        int defaultPort = Ports.Free(), acmePort = Ports.Free();
        dir.Write("top.yaml", Yaml.TcpMapping("shared-name", defaultPort, Upstream));
        dir.Write("acme/nested/tcp.yaml", Yaml.TcpMapping("shared-name", acmePort, Upstream));

        await using var gateway = await RunningGateway.StartAsync(dir.Path);

        Assert.Equal("to default", await Traffic.EchoAsync(defaultPort, "to default"));
        Assert.Equal("to acme", await Traffic.EchoAsync(acmePort, "to acme"));
        var status = await gateway.StatusAsync();
        var tenants = status.GetProperty("tenants").EnumerateArray().ToDictionary(t => t.GetProperty("tenant").GetString()!);
        Assert.Equal(["acme", "default"], tenants.Keys.Order());
        Assert.Equal("Accepted", RunningGateway.Resource(tenants["acme"], "TCPMapping", "shared-name")?.GetProperty("status").GetString());
        Assert.Equal(2, status.GetProperty("listeners").GetArrayLength());

        // Removing the subdirectory removes what it gave its tenant.
        Directory.Delete(Path.Combine(dir.Path, "acme"), recursive: true);
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(acmePort, "gone?") is null, TimeSpan.FromSeconds(5)));
        Assert.Equal("still", await Traffic.EchoAsync(defaultPort, "still"));
    }

    [Fact]
    public async Task An_edge_serves_routes_applied_through_a_core_and_hosts_no_grain()
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("via-core", port, Upstream));
        int coreSilo = Ports.Free(), coreGateway = Ports.Free(), edgeSilo = Ports.Free(), edgeGateway = Ports.Free();

        await using var core = await RunningGateway.LaunchAsync([
            "--role", "core", "--config-dir", dir.Path, "--storage", "memory", "--clustering", "localhost",
            "--silo-port", $"{coreSilo}", "--gateway-port", $"{coreGateway}"]);
        await using var edge = await RunningGateway.LaunchAsync([
            "--role", "edge", "--clustering", "localhost", "--silo-port", $"{edgeSilo}", "--gateway-port", $"{edgeGateway}",
            "--primary-silo", $"127.0.0.1:{coreSilo}"]);

        // The core binds nothing; the edge serves what the core applied.
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "edge") == "edge", TimeSpan.FromSeconds(10)));
        Assert.Equal(HttpStatusCode.OK, (await edge.ReadyzAsync())?.Code);
        Assert.Equal("core", (await core.ReadyzAsync())?.Body.GetProperty("role").GetString());
        Assert.Equal("Accepted", RunningGateway.Resource(await edge.StatusAsync(), "TCPMapping", "via-core")?.GetProperty("status").GetString());

        // Activate many grains through the edge's own gateway, and look where they are.
        using var client = await ClientAsync(edgeGateway);
        var grains = client.Services.GetRequiredService<IClusterClient>();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => grains.GetTenantGrain($"tenant-{i}").GetAsync()));
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics(null, null, TestContext.Current.CancellationToken);

        var gateway = statistics.Where(s => s.GrainType.Contains("OrleansGateway", StringComparison.Ordinal)).ToList();
        Assert.True(gateway.Count >= 20, string.Join(", ", statistics.Select(s => s.GrainType)));
        Assert.DoesNotContain(gateway, s => s.SiloAddress.Endpoint.Port == edgeSilo);

        // Why: the edge's manifest lists none of the gateway's grain types, so placement never picks it.
        var manifests = client.Services.GetRequiredService<IClusterManifestProvider>().Current.Silos;
        var coreTypes = manifests.Single(m => m.Key.Endpoint.Port == coreSilo).Value.Grains.Keys.Select(k => k.ToString()).ToList();
        var edgeTypes = manifests.Single(m => m.Key.Endpoint.Port == edgeSilo).Value.Grains.Keys.Select(k => k.ToString()).ToList();
        string[] ours = ["tenant", "listener", "listenerdirectory", "certificate"];
        Assert.All(ours, t => Assert.Contains(t, coreTypes));
        Assert.All(ours, t => Assert.DoesNotContain(t, edgeTypes));
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

/// <summary>The gateway on real Azure Table storage (a private Azurite): state survives restarts and silo loss.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class StorageTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private EchoServer _echo = null!;

    private string Upstream => $"127.0.0.1:{_echo.Endpoint.Port}";

    public ValueTask InitializeAsync()
    {
        _echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _echo.DisposeAsync();

    /// <summary>A service of its own per test, so tests never see each other's tenants in the shared emulator.</summary>
    private string[] Storage(string serviceId) =>
        ["--storage", "azure", "--storage-connection-string", azurite.ConnectionString, "--service-id", serviceId, "--cluster-id", serviceId];

    [Fact]
    public async Task Routes_survive_a_restart_without_the_config_dir()
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("kept", port, Upstream));
        var service = "restart-" + Guid.NewGuid().ToString("N")[..8];

        await using (var first = await RunningGateway.LaunchAsync([.. Storage(service), .. Ports.ClusterArgs(), "--config-dir", dir.Path]))
        {
            Assert.Equal("before", await Traffic.EchoAsync(port, "before"));
        }

        Assert.Null(await Traffic.TryEchoAsync(port, "nobody"));

        // No --config-dir: everything comes back from Table storage (an empty config dir would mean "delete them").
        await using var second = await RunningGateway.LaunchAsync([.. Storage(service), .. Ports.ClusterArgs()]);
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "after") == "after", TimeSpan.FromSeconds(10)));
        var kept = RunningGateway.Resource(await second.StatusAsync(), "TCPMapping", "kept");
        Assert.Equal("Accepted", kept?.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_edge_stays_ready_and_relays_when_its_core_is_killed_unless_its_snapshot_outlives_max_snapshot_age()
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("survivor", port, Upstream));
        var service = "loss-" + Guid.NewGuid().ToString("N")[..8];
        string[] azureCluster = [.. Storage(service), "--clustering", "azure"];

        using var core = GatewayProcess.Start([.. azureCluster, "--role", "core", "--config-dir", dir.Path,
            "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}"]);
        await core.WaitReadyAsync(TimeSpan.FromSeconds(60));

        // The edge as operators run it, a process of its own; beside it an edge that may serve a snapshot only 3 s
        // older than its last confirmation (its listener finds the port taken by the first edge: reported, still ready).
        using var edge = GatewayProcess.Start([.. azureCluster, "--role", "edge", "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}"]);
        await edge.WaitReadyAsync(TimeSpan.FromSeconds(60));
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(port, "up") == "up", TimeSpan.FromSeconds(10)));
        await using var strict = await RunningGateway.LaunchAsync([.. azureCluster, "--role", "edge", "--max-snapshot-age", "3s",
            "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}"]);
        Assert.True(await Eventually.TrueAsync(async () => (await strict.ReadyzAsync())?.Code == HttpStatusCode.OK, TimeSpan.FromSeconds(20)));
        var before = (await edge.ReadyzAsync())!.Value.Body;
        Assert.Equal("reachable", before.GetProperty("controlPlane").GetString());
        using var established = await OpenAsync(port);
        Assert.Equal("one", await RoundTripAsync(established, "one"));

        core.Kill();

        // The control plane is gone: the edge says so in its detail and stays ready on its last good snapshot.
        JsonElement readyz = default;
        var unreachable = await Eventually.TrueAsync(
            async () => await edge.ReadyzAsync() is { } r && (readyz = r.Body).GetProperty("controlPlane").GetString() == "unreachable",
            TimeSpan.FromSeconds(90));
        Assert.True(unreachable, readyz.ToString());
        Assert.Equal(HttpStatusCode.OK, (await edge.ReadyzAsync())!.Value.Code);
        Assert.True(readyz.GetProperty("ready").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, readyz.GetProperty("snapshotConfirmedAt").ValueKind);
        Assert.True(readyz.GetProperty("snapshotAgeSeconds").GetDouble() >= 0);
        Assert.Equal("two", await RoundTripAsync(established, "two"));
        Assert.Equal("new", await Traffic.EchoAsync(port, "new"));

        // The strict edge turns unready once its snapshot is older than --max-snapshot-age, and says why.
        JsonElement strictBody = default;
        var stale = await Eventually.TrueAsync(
            async () => await strict.ReadyzAsync() is { Code: HttpStatusCode.ServiceUnavailable } r && (strictBody = r.Body).GetProperty("controlPlane").GetString() == "unreachable",
            TimeSpan.FromSeconds(90));
        Assert.True(stale, strictBody.ToString());
        Assert.Contains("--max-snapshot-age", strictBody.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(strictBody.GetProperty("snapshotAgeSeconds").GetDouble() >= 3); // rounded to 0.1 s: 3.04 reads 3.0
        var metrics = await strict.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Matches(@"ogw_edge_control_plane_reachable(\{[^}]*\})? 0", metrics);
        Assert.Matches(@"ogw_edge_ready(\{[^}]*\})? 0", metrics);
        Assert.Equal(HttpStatusCode.OK, (await edge.ReadyzAsync())!.Value.Code);

        // A new core reactivates the grains from Table storage; both edges reconnect and are ready. Its first answer can
        // wait until the membership table declares the killed core dead, hence the longer start limit.
        await using var replacement = await RunningGateway.LaunchAsync([.. azureCluster, "--role", "core",
            "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}"], TimeSpan.FromSeconds(90));
        Assert.True(await Eventually.TrueAsync(async () => (await strict.ReadyzAsync())?.Code == HttpStatusCode.OK, TimeSpan.FromSeconds(90)));
        Assert.True(await Eventually.TrueAsync(
            async () => (await edge.ReadyzAsync())?.Body.GetProperty("controlPlane").GetString() == "reachable", TimeSpan.FromSeconds(60)));
        Assert.Equal("three", await RoundTripAsync(established, "three"));
    }

    private static async Task<TcpClient> OpenAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        return client;
    }

    private static async Task<string> RoundTripAsync(TcpClient client, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var bytes = Encoding.UTF8.GetBytes(text);
        await client.GetStream().WriteAsync(bytes, timeout.Token);
        var received = new byte[bytes.Length];
        await client.GetStream().ReadExactlyAsync(received, timeout.Token);
        return Encoding.UTF8.GetString(received);
    }
}
