using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansGateway.Cli.Commands;

namespace OrleansGateway.Host.Tests;

public sealed class EchoServerTests
{
    [Fact]
    public async Task Echoes_what_it_reads_and_half_closes_after_the_client_does()
    {
        await using var echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new TcpClient();
        await client.ConnectAsync(echo.Endpoint, TestContext.Current.CancellationToken);
        var stream = client.GetStream();

        await stream.WriteAsync("first "u8.ToArray(), TestContext.Current.CancellationToken);
        var first = new byte[6];
        await stream.ReadExactlyAsync(first, TestContext.Current.CancellationToken);
        await stream.WriteAsync("second"u8.ToArray(), TestContext.Current.CancellationToken);
        client.Client.Shutdown(SocketShutdown.Send);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var rest = await reader.ReadToEndAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal("first ", Encoding.UTF8.GetString(first));
        Assert.Equal("second", rest);
    }
}
