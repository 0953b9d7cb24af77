using System.Net;
using System.Text.Json;
using OrleansGateway.Cli.Commands;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// docs/tcpmapping-semantics.md, "Weights (canary groups)": a weight &gt; 100 or a total &gt; 100 refuses the group's
/// new version and the last good routing stays; here through the config directory, which cannot refuse a change: the
/// gateway keeps serving the group and /status says so instead of calling its members Discarded.
/// </summary>
public sealed class LastGoodWeightsTests
{
    [Fact]
    public async Task Weights_over_100_in_the_config_directory_keep_the_last_good_routing_and_status_says_why()
    {
        await using var echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var upstream = $"127.0.0.1:{echo.Endpoint.Port}";
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("canary.yaml", Canary(port, upstream, 50));
        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        Assert.Equal("before", await Traffic.EchoAsync(port, "before"));

        dir.Write("canary.yaml", Canary(port, upstream, 150));
        JsonElement status = default;
        var kept = await Eventually.TrueAsync(
            async () =>
            {
                status = await gateway.StatusAsync();
                return RunningGateway.Resource(status, "TCPMapping", "canary")?.GetProperty("messages").EnumerateArray()
                    .Any(m => m.GetString()!.Contains("last accepted version stays served", StringComparison.Ordinal)) == true;
            },
            TimeSpan.FromSeconds(10));

        Assert.True(kept, status.ToString());
        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "canary")!.Value.GetProperty("status").GetString());
        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "stable")!.Value.GetProperty("status").GetString());
        Assert.Equal("after", await Traffic.EchoAsync(port, "after"));
    }

    private static string Canary(int port, string upstream, int weight) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: canary
        spec:
          port: {port}
          service: {upstream}
          weight: {weight}
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: stable
        spec:
          port: {port}
          service: {upstream}
        """;
}
