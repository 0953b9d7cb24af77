using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansGateway.Cli.Commands;
using OrleansGateway.Silo;

namespace OrleansGateway.Host.Tests;

/// <summary>The real gateway refuses a tenant's mapping to its own control ports (here: the --api-url port).</summary>
public sealed class ProtectedUpstreamTests
{
    [Fact]
    public async Task A_mapping_to_the_gateways_own_api_port_does_not_reach_the_api()
    {
        await using var echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        using var dir = new TempConfigDir();
        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        var apiPort = gateway.Http.BaseAddress!.Port;
        int guardedPort = Ports.Free(), controlPort = Ports.Free();

        // One file, so both listeners come with the same apply: once the control echoes, the guarded one is bound too.
        dir.Write("sneaky.yaml", Yaml.TcpMapping("sneaky", guardedPort, $"127.0.0.1:{apiPort}")
            + "\n" + Yaml.TcpMapping("control", controlPort, $"127.0.0.1:{echo.Endpoint.Port}"));
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(controlPort, "up") == "up", TimeSpan.FromSeconds(5)),
            "the control mapping was not served");

        var answer = await HttpThroughAsync(guardedPort);

        Assert.False(answer.StartsWith("HTTP/", StringComparison.Ordinal), $"the API answered through the gateway: {answer}");
        Assert.Equal(HttpStatusCode.OK, await gateway.StatusCodeAsync("/healthz"));
    }

    [Fact]
    public void The_command_line_protects_the_silo_gateway_and_api_ports_and_link_local_is_opt_in()
    {
        var commandLine = new GatewayCommandLine();

        var defaults = commandLine.Read(commandLine.Root.Parse([]), out var problem);
        var opted = commandLine.Read(commandLine.Root.Parse(
            ["--silo-port", "2001", "--gateway-port", "2002", "--api-url", "http://127.0.0.1:2003", "--allow-link-local-upstreams"]), out _);

        Assert.Null(problem);
        Assert.Equal([8080, 11111, 30000], defaults.Proxy.ProtectedPorts.Order());
        Assert.False(defaults.Proxy.AllowLinkLocalUpstreams);
        Assert.Equal([2001, 2002, 2003], opted.Proxy.ProtectedPorts.Order());
        Assert.True(opted.Proxy.AllowLinkLocalUpstreams);
    }

    [Fact]
    public async Task Help_documents_the_link_local_switch()
    {
        var output = new StringWriter();

        Assert.Equal(0, await Program.RunAsync(["--help"], output, TextWriter.Null, CancellationToken.None));
        Assert.Contains("--allow-link-local-upstreams", output.ToString());
    }

    /// <summary>Sends <c>GET /healthz</c> through <paramref name="port"/> and returns what came back before the gateway closed.</summary>
    private static async Task<string> HttpThroughAsync(int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"u8.ToArray(), timeout.Token);
        try
        {
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(timeout.Token);
        }
        catch (IOException)
        {
            return ""; // reset: nothing was answered either
        }
    }
}
