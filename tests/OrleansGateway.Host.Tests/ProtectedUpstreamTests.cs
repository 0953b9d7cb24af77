using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansGateway.Cli.Commands;
using OrleansGateway.Silo;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The real gateway refuses a tenant's mapping to its own control ports (here: the --api-url port): an address literal
/// when applying, a name (which only resolution can tell) when connecting, before any byte reaches the port.
/// </summary>
public sealed class ProtectedUpstreamTests
{
    [Fact]
    public async Task A_mapping_to_the_gateways_own_api_port_does_not_reach_the_api()
    {
        await using var echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        using var dir = new TempConfigDir();
        await using var gateway = await RunningGateway.StartAsync(dir.Path);
        var apiPort = gateway.Http.BaseAddress!.Port;
        int literalPort = Ports.Free(), namedPort = Ports.Free(), controlPort = Ports.Free();

        // One file, so all listeners come with the same apply: once the control echoes, the named one is bound too.
        dir.Write("sneaky.yaml", Yaml.TcpMapping("sneaky", literalPort, $"127.0.0.1:{apiPort}")
            + "\n" + Yaml.TcpMapping("sneaky-name", namedPort, $"localhost:{apiPort}")
            + "\n" + Yaml.TcpMapping("control", controlPort, $"127.0.0.1:{echo.Endpoint.Port}"));
        Assert.True(await Eventually.TrueAsync(async () => await Traffic.TryEchoAsync(controlPort, "up") == "up", TimeSpan.FromSeconds(5)),
            "the control mapping was not served");

        // The literal is refused when applying (the config directory's tenant is unlimited: this is the gateway's own rule).
        var status = await gateway.StatusAsync();
        var literal = RunningGateway.Resource(status, "TCPMapping", "sneaky")!.Value;
        Assert.Equal("Discarded", literal.GetProperty("status").GetString());
        Assert.Contains("gateway itself", literal.GetProperty("messages").ToString());

        // The name resolves to loopback: accepted, and closed at connect before any byte reaches the API.
        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "sneaky-name")!.Value.GetProperty("status").GetString());
        var answer = await HttpThroughAsync(namedPort);

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
    public void Allow_upstream_opens_ranges_and_a_bad_range_is_named()
    {
        var commandLine = new GatewayCommandLine();

        var opened = commandLine.Read(commandLine.Root.Parse(["--allow-upstream", "168.63.129.16", "--allow-upstream", "10.0.0.0/8"]), out var problem);
        commandLine.Read(commandLine.Root.Parse(["--allow-upstream", "10.0.0.1/8"]), out var bad);

        Assert.Null(problem);
        Assert.Equal(["168.63.129.16/32", "10.0.0.0/8"], opened.Proxy.AllowedUpstreamNetworks.Select(n => n.ToString()));
        Assert.NotNull(bad);
        Assert.Contains("--allow-upstream '10.0.0.1/8'", bad);
        Assert.Contains("10.0.0.0/8", bad);
    }

    [Fact]
    public async Task Help_documents_the_link_local_switch()
    {
        var output = new StringWriter();

        Assert.Equal(0, await Program.RunAsync(["--help"], output, TextWriter.Null, CancellationToken.None));
        Assert.Contains("--allow-link-local-upstreams", output.ToString());
        Assert.Contains("--allow-upstream", output.ToString());
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
