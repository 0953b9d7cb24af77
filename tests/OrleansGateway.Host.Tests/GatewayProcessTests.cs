namespace OrleansGateway.Host.Tests;

/// <summary>The gateway as operators run it: <c>dotnet OrleansGateway.Silo.dll</c>, stopped by SIGTERM.</summary>
public sealed class GatewayProcessTests
{
    [Fact]
    public async Task SIGTERM_stops_the_gateway_cleanly_and_frees_its_ports()
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("plain", port, "127.0.0.1:9"));
        using var gateway = GatewayProcess.Start(["--config-dir", dir.Path, .. Ports.SiloArgs()]);
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(30));

        var exit = await gateway.TerminateAsync(TimeSpan.FromSeconds(20));

        Assert.True(exit == 0, $"exit {exit}: {gateway.Output}");
        Assert.Contains("Applied configuration generation 1", gateway.Output, StringComparison.Ordinal);
        Assert.Null(await Traffic.TryEchoAsync(port, "anyone?"));
    }
}
