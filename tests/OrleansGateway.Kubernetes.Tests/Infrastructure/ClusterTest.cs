using System.Net;
using OrleansGateway.Cli.Commands;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>What every test of a gateway at a cluster starts from: a fake API server holding namespace <c>default</c>, and an echo server to be the upstream.</summary>
public abstract class ClusterTest : IAsyncLifetime
{
    protected FakeApiServer Api { get; private set; } = null!;

    private EchoServer _echo = null!;

    /// <summary>The echo server as a TCPMapping's <c>service</c>.</summary>
    protected string Upstream => $"127.0.0.1:{_echo.Endpoint.Port}";

    public async ValueTask InitializeAsync()
    {
        Api = await FakeApiServer.StartAsync();
        Api.Apply(FakeApiServer.Namespaces, Objects.Namespace("default"));
        _echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
    }

    public async ValueTask DisposeAsync()
    {
        await _echo.DisposeAsync();
        await Api.DisposeAsync();
    }
}
