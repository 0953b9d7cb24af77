using System.Diagnostics;
using OrleansGateway.Kubernetes.Tests.Infrastructure;
using static OrleansGateway.Kubernetes.Tests.Infrastructure.FakeApiServer;

namespace OrleansGateway.Kubernetes.Tests;

/// <summary>Emissary's resources in the (stand-in) cluster, served by the real gateway over real sockets.</summary>
public sealed class SourceTests : ClusterTest
{
    [Fact]
    public async Task A_TCPMapping_created_changed_and_deleted_is_served_changed_and_withdrawn_with_its_status_written_back()
    {
        Api.Apply(Namespaces, Objects.Namespace("team"));
        await using var gateway = await KubeGateway.StartAsync(Api);
        await WarmUpAsync();
        int port = Ports.Free(), moved = Ports.Free();

        var clock = Stopwatch.StartNew();
        Api.Apply(TcpMappings, Objects.TcpMapping("team", "echo", port, Upstream));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "created") == "created", "the new mapping to be served");
        var served = clock.Elapsed;
        var status = await Eventually.Get(() => Task.FromResult(Accepted.Of(Api.Get(TcpMappings, "team", "echo"))), a => a is not null, "the status to be written back");
        Assert.Equal(new Accepted("True", "Accepted", "", 1), status);

        clock.Restart();
        Api.Apply(TcpMappings, Objects.TcpMapping("team", "echo", moved, Upstream));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(moved, "changed") == "changed" && await Traffic.TryEchoAsync(port, "old") is null,
            "the changed mapping to move to its new port");
        var changed = clock.Elapsed;
        await Eventually.Until(() => Accepted.Of(Api.Get(TcpMappings, "team", "echo"))?.ObservedGeneration == 2, "the status to follow the new generation");

        clock.Restart();
        Api.Delete(TcpMappings, "team", "echo");
        await Eventually.Until(async () => await Traffic.TryEchoAsync(moved, "deleted") is null, "the deleted mapping to be withdrawn");
        var withdrawn = clock.Elapsed;

        TestContext.Current.TestOutputHelper?.WriteLine($"served {served.TotalMilliseconds:0} ms, changed {changed.TotalMilliseconds:0} ms, withdrawn {withdrawn.TotalMilliseconds:0} ms after the API server had the change");
    }

    /// <summary>Waits until this gateway is the source's writer and has applied a first mapping (startup is not what is measured).</summary>
    private async Task WarmUpAsync()
    {
        var port = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "warm-up", port, Upstream));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "warm") == "warm", "the source to apply its first mapping", TimeSpan.FromSeconds(60));
    }
}
