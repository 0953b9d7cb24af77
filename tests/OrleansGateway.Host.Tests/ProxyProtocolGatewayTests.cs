using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// PROXY protocol through the gateway's interfaces (docs/tcpmapping-semantics.md, "Extensions"): the annotation's
/// unknown values are refused by <c>ogw check</c> like any field error, and a config directory with a PROXY Listener and an
/// annotated mapping serves a client behind a PROXY sender by its own address, with <c>--proxy-protocol-trusted</c>.
/// </summary>
public sealed class ProxyProtocolGatewayTests
{
    private static string Annotated(string name, int port, string service, string value) =>
        Yaml.TcpMapping(name, port, service).Replace($"  name: {name}\n",
            $"  name: {name}\n  annotations:\n    orleansgateway.io/proxy-protocol: \"{value}\"\n", StringComparison.Ordinal);

    private static string ProxyListener(int port) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: Listener
        metadata:
          name: behind-lb
        spec:
          port: {port}
          protocolStack: [PROXY, TCP]
          securityModel: XFP
          hostBinding:
            namespace:
              from: ALL

        """;

    [Fact]
    public void Ogw_check_Discards_a_mapping_whose_annotation_value_is_unknown_naming_the_annotation()
    {
        using var dir = new TempConfigDir();
        dir.Write("m.yaml", Annotated("good", Ports.Free(), "upstream:22", "v2") + "\n" + Annotated("bad", Ports.Free(), "upstream:22", "v3"));

        using var check = CheckReport.Run(dir.Path);

        Assert.Equal(1, check.Exit);
        Assert.Equal("Accepted", check.Status("good"));
        Assert.Equal("Discarded", check.Status("bad"));
        var diagnostic = check.Diagnostic("annotation.value");
        Assert.Equal("metadata.annotations.orleansgateway.io/proxy-protocol", diagnostic.GetProperty("field").GetString());
        Assert.Contains("orleansgateway.io/proxy-protocol", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_directory_PROXY_listener_passes_the_client_address_on_to_an_annotated_upstream()
    {
        using var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start();
        var port = Ports.Free();
        using var dir = new TempConfigDir();
        dir.Write("lb.yaml", ProxyListener(port) + Annotated("db", port, $"127.0.0.1:{((IPEndPoint)upstream.LocalEndpoint).Port}", "v1"));

        await using var gateway = await RunningGateway.StartAsync(dir.Path, "--proxy-protocol-trusted", "127.0.0.0/8");
        var status = await gateway.StatusAsync();
        Assert.Equal("Accepted", RunningGateway.Resource(status, "Listener", "behind-lb")!.Value.GetProperty("status").GetString());
        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "db")!.Value.GetProperty("status").GetString());

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        var stream = client.GetStream();

        // A v2 header (PROXY, TCP4) for 198.51.100.9:4242 -> 192.0.2.1:443, written by hand, then the client's data.
        byte[] header = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C,
            198, 51, 100, 9, 192, 0, 2, 1, 0x10, 0x92, 0x01, 0xBB];
        await stream.WriteAsync(header.Concat("ping"u8.ToArray()).ToArray(), cts.Token);

        using var accepted = await upstream.AcceptTcpClientAsync(cts.Token);
        var received = new byte[256];
        var text = "";
        while (!text.EndsWith("ping", StringComparison.Ordinal))
        {
            var n = await accepted.GetStream().ReadAsync(received, cts.Token);
            Assert.NotEqual(0, n);
            text += Encoding.ASCII.GetString(received, 0, n);
        }

        Assert.Equal($"PROXY TCP4 198.51.100.9 127.0.0.1 4242 {port}\r\nping", text);
    }
}
