using System.Text.Json.Nodes;
using OrleansGateway.Kubernetes.Tests.Infrastructure;
using static OrleansGateway.Kubernetes.Tests.Infrastructure.FakeApiServer;

namespace OrleansGateway.Kubernetes.Tests;

/// <summary>
/// What the gateway writes into the cluster and reads from it besides Emissary's resources (docs/kubernetes.md):
/// statuses (or Events where a kind has no status subresource), only when they change and only for this gateway's
/// <c>ambassador_id</c>; the <c>--kubernetes-service</c> Service's ports; EndpointSlices as upstreams.
/// </summary>
public sealed class ClusterTests : ClusterTest
{
    [Fact]
    public async Task A_status_is_patched_when_the_condition_or_generation_changes_never_otherwise_and_never_for_another_gateways_resource()
    {
        await using var gateway = await KubeGateway.StartAsync(Api);
        var port = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "echo", port, Upstream));
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "theirs", Ports.Free(), Upstream, ambassadorId: "another-gateway"));
        await StatusAsync("echo", a => a is { Status: "True", ObservedGeneration: 1 });

        // A change of labels only: same generation, same condition, nothing to write.
        var labelled = Objects.TcpMapping("default", "echo", port, Upstream);
        labelled["metadata"]!["labels"] = new JsonObject { ["team"] = "a" };
        Api.Apply(TcpMappings, labelled);

        // Markers: two more resources written after that change, and a full status refresh (every 5 s) since.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "marker", Ports.Free(), Upstream));
        await StatusAsync("marker", a => a is { Status: "True" });
        await Eventually.Until(() => clock.Elapsed > TimeSpan.FromSeconds(6), "a status refresh to pass");
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "marker2", Ports.Free(), Upstream));
        await StatusAsync("marker2", a => a is { Status: "True" });

        Assert.Equal(1, StatusPatches("echo"));
        Assert.Equal(0, StatusPatches("theirs"));
        Assert.Null(Accepted.Of(Api.Get(TcpMappings, "default", "theirs")));

        // A spec change: a new generation, written once more; a Discarded verdict with its reason.
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "echo", 0, Upstream));
        var discarded = await StatusAsync("echo", a => a is { ObservedGeneration: 2 });
        Assert.Equal(("False", "Discarded"), (discarded.Status, discarded.Reason));
        Assert.Contains("port", discarded.Message, StringComparison.Ordinal);
        Assert.Equal(2, StatusPatches("echo"));
        Assert.All(Api.Requests.Where(r => r.StartsWith("PATCH", StringComparison.Ordinal)), r => Assert.Contains("/status", r, StringComparison.Ordinal));
    }

    /// <summary>Two silos that could both run the source: one of them is the writer, the other waits for the lease.</summary>
    [Fact]
    public async Task Of_two_silos_one_is_the_writer_of_the_source()
    {
        int siloPort = Ports.Free(), port = Ports.Free();
        await using var primary = await KubeGateway.StartAsync(
            Api, "--storage", "memory", "--clustering", "localhost", "--silo-port", $"{siloPort}", "--gateway-port", $"{Ports.Free()}");
        await using var core = await KubeGateway.StartAsync(
            Api, "--role", "core", "--storage", "memory", "--clustering", "localhost", "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}",
            "--primary-silo", $"127.0.0.1:{siloPort}");

        Api.Apply(TcpMappings, Objects.TcpMapping("default", "echo", port, Upstream));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "hello") == "hello", "the mapping to be served", TimeSpan.FromSeconds(60));
        await StatusAsync("echo", a => a is { Status: "True" });

        // While the second silo joins, the lease's grain may briefly be activated twice (it is kept in memory, docs/kubernetes.md,
        // "One writer at a time"): both may hear "yes" once, and the one that loses stops at its next renewal.
        await Eventually.Until(() => IsWriter(primary) ^ IsWriter(core), "exactly one silo to be the writer", TimeSpan.FromSeconds(30));
    }

    /// <summary>Whether the last word of this gateway's writer of the source was that it is the writer.</summary>
    private static bool IsWriter(KubeGateway gateway) => gateway.Logs.Lines
        .Where(l => l.Contains("kubernetes-source/default: this process", StringComparison.Ordinal))
        .LastOrDefault()?.Contains("is the writer now", StringComparison.Ordinal) == true;

    /// <summary>Emissary's own CRDs have no status subresource: the PATCH is a 404, and an Event per change of verdict says why instead.</summary>
    [Fact]
    public async Task Without_a_status_subresource_each_change_of_the_condition_is_an_Event_on_the_resource()
    {
        Api.WithoutStatusSubresource("tcpmappings");
        await using var gateway = await KubeGateway.StartAsync(Api);
        var port = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "echo", port, Upstream));
        var accepted = await EventAsync("echo", "Accepted");
        Assert.Equal("Normal", accepted["type"]!.GetValue<string>());
        Assert.Equal("TCPMapping", accepted["involvedObject"]!["kind"]!.GetValue<string>());
        Assert.Equal(Api.Get(TcpMappings, "default", "echo")!["metadata"]!["uid"]!.GetValue<string>(), accepted["involvedObject"]!["uid"]!.GetValue<string>());

        Api.Apply(TcpMappings, Objects.TcpMapping("default", "echo", 0, Upstream));
        var discarded = await EventAsync("echo", "Discarded");
        Assert.Equal("Warning", discarded["type"]!.GetValue<string>());
        Assert.Contains("port", discarded["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // No news, no Event: a marker resource gets its own, and echo still has exactly two.
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "marker", Ports.Free(), Upstream));
        await EventAsync("marker", "Accepted");
        Assert.Equal(2, EventsOf("echo").Count);
    }

    [Fact]
    public async Task The_gateways_Service_gets_exactly_the_bound_listener_ports_and_keeps_them_when_none_is_bound()
    {
        Api.Apply(Services, Objects.Service("default", "ogw-edge", ("placeholder", 9, 9)));
        await using var gateway = await KubeGateway.StartAsync(Api, "--kubernetes-service", "default/ogw-edge");
        int first = Ports.Free(), second = Ports.Free();

        Api.Apply(TcpMappings, Objects.TcpMapping("default", "first", first, Upstream));
        await PortsAsync([first]);
        var port = (JsonObject)Api.Get(Services, "default", "ogw-edge")!["spec"]!["ports"]![0]!;
        Assert.Equal($"tcp-{first}", port["name"]!.GetValue<string>());
        Assert.Equal("TCP", port["protocol"]!.GetValue<string>());
        Assert.Equal(first, port["port"]!.GetValue<int>());
        Assert.Equal(first, port["targetPort"]!.GetValue<int>());

        Api.Apply(TcpMappings, Objects.TcpMapping("default", "second", second, Upstream));
        await PortsAsync([first, second]);
        Api.Delete(TcpMappings, "default", "first");
        await PortsAsync([second]);

        // Nothing bound: the ports stay as they are (a Service needs one), until a listener is bound again.
        Api.Delete(TcpMappings, "default", "second");
        await Eventually.Until(async () => await Traffic.TryEchoAsync(second, "gone?") is null, "the last listener to be released");
        var patches = Api.Requests.Count(r => r.StartsWith("PATCH /api/v1/namespaces/default/services/ogw-edge", StringComparison.Ordinal));

        // A negative can only be watched for a while: the writer looks every 250 ms.
        var quiet = System.Diagnostics.Stopwatch.StartNew();
        while (quiet.Elapsed < TimeSpan.FromSeconds(2))
        {
            Assert.Equal([second], ServicePorts());
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        var third = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "third", third, Upstream));
        await PortsAsync([third]);
        Assert.True(Api.Requests.Count(r => r.StartsWith("PATCH /api/v1/namespaces/default/services/ogw-edge", StringComparison.Ordinal)) > patches);
    }

    /// <summary>
    /// KubernetesEndpointResolver: new connections go to the ready endpoints of the EndpointSlices, following every
    /// change, while connections opened before a change keep going to where they went; a client loop meanwhile never
    /// fails.
    /// </summary>
    [Fact]
    public async Task EndpointSlice_changes_reach_new_connections_under_load_without_dropping_open_ones()
    {
        await using var blue = TaggedServer.Start("blue");
        await using var green = TaggedServer.Start("green");
        var port = Ports.Free();
        Api.Apply(Services, Objects.Service("default", "app", ("tcp", 80, 8080)));
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "app-1", "app", "tcp", blue.Port, ("127.0.0.1", true)));
        Api.Apply(Objects.Collection("kubernetesendpointresolvers"), Objects.EndpointResolver("default", "endpoints"));
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "app", port, "app.default:80", resolver: "endpoints"));
        await using var gateway = await KubeGateway.StartAsync(Api);

        await using var open = await Eventually.Get(() => TaggedClient.TryConnectAsync(port), c => c?.Tag == "blue", "a connection to reach blue", TimeSpan.FromSeconds(60));
        Assert.Equal("one", await open!.RoundTripAsync("one"));

        using var stop = new CancellationTokenSource();
        var tags = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = 0;
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await using var client = await TaggedClient.TryConnectAsync(port);
                if (client is null || await client.RoundTripAsync("ping") != "ping")
                {
                    Interlocked.Increment(ref failures);
                }
                else
                {
                    tags.Add(client.Tag);
                }
            }
        }, TestContext.Current.CancellationToken);

        // Green joins not ready, becomes ready, then blue stops being ready and leaves: every step keeps a ready endpoint.
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "app-2", "app", "tcp", green.Port, ("127.0.0.1", false)));
        await Eventually.Until(() => tags.Count > 20, "connections under load");
        Assert.DoesNotContain("green", tags);
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "app-2", "app", "tcp", green.Port, ("127.0.0.1", true)));
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "app-1", "app", "tcp", blue.Port, ("127.0.0.1", false)));
        await Eventually.Until(() => tags.Contains("green"), "new connections to reach green once blue is not ready");
        await Eventually.Until(async () => await TagAsync(port) == "green", "new connections to go to green only");
        Api.Delete(EndpointSlices, "default", "app-1");
        var seen = tags.Count;
        await Eventually.Until(() => tags.Count > seen + 20, "more connections under load");
        Assert.Equal("green", await TagAsync(port));

        await stop.CancelAsync();
        await load;
        Assert.Equal(0, failures);
        Assert.Equal("two", await open.RoundTripAsync("two"));
    }

    private static async Task<string?> TagAsync(int port)
    {
        await using var client = await TaggedClient.TryConnectAsync(port);
        return client?.Tag;
    }

    private async Task<Accepted> StatusAsync(string name, Func<Accepted?, bool> condition) =>
        (await Eventually.Get(
            () => Task.FromResult(Accepted.Of(Api.Get(TcpMappings, "default", name))),
            a => a is not null && condition(a),
            $"the status of default/{name}"))!;

    private int StatusPatches(string name) =>
        Api.Requests.Count(r => r.StartsWith($"PATCH /apis/getambassador.io/v3alpha1/namespaces/default/tcpmappings/{name}/", StringComparison.Ordinal));

    private List<JsonObject> EventsOf(string name) =>
        [.. Api.Items(Events).Where(e => e["involvedObject"]?["name"]?.GetValue<string>() == name)];

    private async Task<JsonObject> EventAsync(string name, string reason) =>
        (await Eventually.Get(
            () => Task.FromResult(EventsOf(name).FirstOrDefault(e => e["reason"]?.GetValue<string>() == reason)),
            e => e is not null,
            $"an Event {reason} on {name}"))!;

    private List<int> ServicePorts() =>
        [.. ((JsonArray)Api.Get(Services, "default", "ogw-edge")!["spec"]!["ports"]!).Select(p => p!["port"]!.GetValue<int>()).Order()];

    private Task PortsAsync(int[] expected) =>
        Eventually.Until(() => ServicePorts().SequenceEqual(expected.Order()), $"the Service's ports to be {string.Join(", ", expected)}");
}
