using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansGateway.Kubernetes.Tests.Infrastructure;
using static OrleansGateway.Kubernetes.Tests.Infrastructure.FakeApiServer;

namespace OrleansGateway.Kubernetes.Tests;

/// <summary>
/// What one watch event costs with many tenants loaded (docs/kubernetes.md, "What an event costs"): only the tenants
/// whose resources it changed are re-evaluated (the source's debug line names them) and applied (their versions in the API move, no other's
/// does), and only their statuses are written back. Counted on the real gateway and tenant grains, through the real
/// KubernetesClient against the fake API server.
/// </summary>
public sealed class EventCostTests : ClusterTest
{
    /// <summary>How many tenants the first test loads; <c>OGW_KUBERNETES_TENANTS</c> raises it to measure (docs/scale.md).</summary>
    private static readonly int LoadedTenants = int.TryParse(Environment.GetEnvironmentVariable("OGW_KUBERNETES_TENANTS"), CultureInfo.InvariantCulture, out var n) && n >= 8 ? n : 60;

    [Fact]
    public async Task With_many_tenants_loaded_an_event_re_evaluates_and_applies_only_the_tenants_whose_resources_it_changed()
    {
        using var first = Objects.Certificate("t1.example");
        using var rotated = Objects.Certificate("t1.example");
        using var spare = Objects.Certificate("spare.example");
        var tenants = Load(LoadedTenants);
        Api.Apply(Objects.Collection("hosts"), Objects.Host(tenants[1].Namespace, "web", "t1.example", "cert"));
        Api.Apply(Secrets, Objects.TlsSecret(tenants[1].Namespace, "cert", first));
        var clock = Stopwatch.StartNew();
        await using var gateway = await StartAsync(tenants);
        TestContext.Current.TestOutputHelper?.WriteLine($"{tenants.Count} tenants served {clock.Elapsed.TotalSeconds:0.0} s after start");
        Assert.Equal("Accepted", await gateway.ResourceStatusAsync(tenants[1].Name, "Host", tenants[1].Namespace, "web"));

        // One TCPMapping of one tenant moves to its second port: that tenant only.
        var times = new List<double>();
        foreach (var moved in new[] { tenants[7], tenants[tenants.Count / 2], tenants[^1] })
        {
            var before = await SettledAsync(gateway);
            clock.Restart();
            Api.Apply(TcpMappings, Objects.TcpMapping(moved.Namespace, "echo", moved.Second, Upstream));
            await Eventually.Until(async () => await Traffic.TryEchoAsync(moved.Second, "moved") == "moved", $"{moved.Name}'s mapping to be served on its second port");
            times.Add(clock.Elapsed.TotalMilliseconds);
            await Eventually.Until(() => Accepted.Of(Api.Get(TcpMappings, moved.Namespace, "echo"))?.ObservedGeneration == 2, "its status to follow the new generation");
            await AssertOnlyAsync(gateway, before, evaluated: [moved.Name], applied: [moved.Name]);
            Assert.All(before.Patches(Api), p => Assert.Contains($"/namespaces/{moved.Namespace}/", p, StringComparison.Ordinal));
            Assert.Single(before.Patches(Api));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"watch event to served with {tenants.Count} tenants: {string.Join(", ", times.Select(t => $"{t:0} ms"))}; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

        // The Secret a Host of tenant 1 names is rotated: tenant 1 only.
        var rotation = await SettledAsync(gateway);
        Api.Apply(Secrets, Objects.TlsSecret(tenants[1].Namespace, "cert", rotated));
        await Eventually.Until(() => rotation.Evaluations(gateway).Count > 0, "the rotation to be evaluated");
        await AssertOnlyAsync(gateway, rotation, evaluated: [tenants[1].Name], applied: [tenants[1].Name]);

        // A TLS Secret nothing names, in tenant 2's namespace: tenant 2 is looked at, and nothing is applied.
        var unnamed = await SettledAsync(gateway);
        Api.Apply(Secrets, Objects.TlsSecret(tenants[2].Namespace, "spare", spare));
        await Eventually.Until(() => unnamed.Evaluations(gateway).Count > 0, "the new Secret to be evaluated");
        await AssertOnlyAsync(gateway, unnamed, evaluated: [tenants[2].Name], applied: []);

        // Namespace 3 is relabelled to tenant 4: both tenants, the old one releasing first, and no other.
        var relabel = await SettledAsync(gateway);
        Api.Apply(Namespaces, Objects.Namespace(tenants[3].Namespace, tenant: tenants[4].Name));
        await Eventually.Until(
            async () => await gateway.ResourceStatusAsync(tenants[4].Name, "TCPMapping", tenants[3].Namespace, "echo") is not null,
            "namespace 3's mapping to move under tenant 4");
        Assert.Null(await gateway.ResourceStatusAsync(tenants[3].Name, "TCPMapping", tenants[3].Namespace, "echo"));
        await AssertOnlyAsync(gateway, relabel, evaluated: [tenants[3].Name, tenants[4].Name], applied: [tenants[3].Name, tenants[4].Name]);
        Assert.Equal("still", await Traffic.EchoAsync(tenants[4].First, "still"));
    }

    /// <summary>
    /// The attacker holds tenant 5's namespace and writes what they can there, aimed at tenant 6: a mapping named like
    /// its resource and labelled with its tenant's name, a Secret named like its certificate, a TLSContext that names
    /// that certificate by <c>name.namespace</c>. Each change re-evaluates the attacker's tenant and nothing else; tenant
    /// 6 is never applied, keeps its Secret and is served as before.
    /// </summary>
    [Fact]
    public async Task Nothing_written_in_one_tenants_namespace_makes_the_gateway_re_evaluate_or_apply_another_tenant()
    {
        using var victimCertificate = Objects.Certificate("victim.example");
        using var forged = Objects.Certificate("victim.example");
        var tenants = Load(12);
        var (mallory, victim) = (tenants[5], tenants[6]);
        Api.Apply(Objects.Collection("hosts"), Objects.Host(victim.Namespace, "web", "victim.example", "cert"));
        Api.Apply(Secrets, Objects.TlsSecret(victim.Namespace, "cert", victimCertificate));
        await using var gateway = await StartAsync(tenants);
        var before = await SettledAsync(gateway);
        var victimResources = (await gateway.ResourcesAsync(victim.Name)).GetRawText();

        var labelled = Objects.TcpMapping(mallory.Namespace, "echo", mallory.Second, Upstream);
        labelled["metadata"]!["labels"] = new JsonObject { ["orleansgateway.io/tenant"] = victim.Name };
        Api.Apply(TcpMappings, labelled);
        Api.Apply(TcpMappings, Objects.TcpMapping(mallory.Namespace, $"echo.{victim.Namespace}", mallory.First, Upstream));
        Api.Apply(Secrets, Objects.TlsSecret(mallory.Namespace, "cert", forged));
        Api.Apply(Objects.Collection("tlscontexts"), Objects.TlsContext(mallory.Namespace, "steal", "victim.example", $"cert.{victim.Namespace}"));
        Api.Apply(Objects.Collection("hosts"), Objects.Host(mallory.Namespace, "web", "victim.example", "cert"));

        await Eventually.Until(async () => await gateway.ResourceStatusAsync(mallory.Name, "Host", mallory.Namespace, "web") is not null, "the attacker's last resource to be applied");
        await Eventually.Until(async () => await Traffic.TryEchoAsync(mallory.Second, "m") == "m", "the attacker's own mapping to be served");
        await AssertOnlyAsync(gateway, before, evaluated: [mallory.Name], applied: [mallory.Name]);
        Assert.Equal(victimResources, (await gateway.ResourcesAsync(victim.Name)).GetRawText());
        Assert.Equal("victim", await Traffic.EchoAsync(victim.First, "victim"));
        Assert.DoesNotContain(before.Patches(Api), p => p.Contains($"/namespaces/{victim.Namespace}/", StringComparison.Ordinal));
    }

    /// <summary>
    /// A change of one Service's EndpointSlice reads that Service's endpoints again and no other's; a slice relabelled
    /// to another Service touches both. Connections follow: the mapping through the first Service reaches the endpoint
    /// that moved to it.
    /// </summary>
    [Fact]
    public async Task An_EndpointSlice_change_reads_again_only_the_Services_it_touches()
    {
        await using var blue = TaggedServer.Start("blue");
        await using var green = TaggedServer.Start("green");
        var port = Ports.Free();
        for (var i = 0; i < 10; i++)
        {
            Api.Apply(Services, Objects.Service("default", $"other-{i}", ("tcp", 80, 8080)));
            Api.Apply(EndpointSlices, Objects.EndpointSlice("default", $"other-{i}-1", $"other-{i}", "tcp", green.Port, ("127.0.0.1", true)));
        }

        Api.Apply(Services, Objects.Service("default", "app", ("tcp", 80, 8080)));
        Api.Apply(Services, Objects.Service("default", "spare", ("tcp", 80, 8080)));
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "app-1", "app", "tcp", blue.Port, ("127.0.0.1", true)));
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "spare-1", "spare", "tcp", green.Port, ("127.0.0.1", true)));
        Api.Apply(Objects.Collection("kubernetesendpointresolvers"), Objects.EndpointResolver("default", "endpoints"));
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "app", port, "app.default:80", resolver: "endpoints"));
        await using var gateway = await KubeGateway.StartAsync(Api);
        await Eventually.Until(async () => await TagAsync(port) == "blue", "the mapping to reach app's endpoint", TimeSpan.FromSeconds(60));

        var mark = gateway.Logs.Lines.Count;
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "other-3-1", "other-3", "tcp", green.Port, ("127.0.0.1", false)));
        await Eventually.Until(() => EndpointReads(gateway, mark).Count > 0, "the slice change to be read");
        Assert.Equal(["default/other-3"], EndpointReads(gateway, mark).SelectMany(r => r).Distinct());
        Assert.Equal("blue", await TagAsync(port));

        // app's slice stops being ready and spare's slice moves to app: app and spare, nothing else.
        mark = gateway.Logs.Lines.Count;
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "spare-1", "app", "tcp", green.Port, ("127.0.0.1", true)));
        Api.Apply(EndpointSlices, Objects.EndpointSlice("default", "app-1", "app", "tcp", blue.Port, ("127.0.0.1", false)));
        await Eventually.Until(async () => await TagAsync(port) == "green", "new connections to reach the endpoint that moved to app");
        await Eventually.Until(() => EndpointReads(gateway, mark).SelectMany(r => r).Distinct().Count() == 2, "both Services to be read again");
        Assert.Equal(["default/app", "default/spare"], EndpointReads(gateway, mark).SelectMany(r => r).Distinct().Order(StringComparer.Ordinal));
    }

    /// <summary>The Services each endpoint update since line <paramref name="mark"/> read again, as its debug line names them.</summary>
    private static List<string[]> EndpointReads(KubeGateway gateway, int mark) => Named(gateway, mark, "Kubernetes: read the endpoints of", "Services again: ");

    /// <summary>The names a debug line lists after <paramref name="before"/>, for each line since <paramref name="mark"/> that contains <paramref name="line"/>.</summary>
    private static List<string[]> Named(KubeGateway gateway, int mark, string line, string before) => [.. gateway.Logs.Lines.Skip(mark)
        .Where(l => l.Contains(line, StringComparison.Ordinal))
        .Select(l => l[(l.IndexOf(before, StringComparison.Ordinal) + before.Length)..l.IndexOf(" [", StringComparison.Ordinal)])
        .Select(names => names.Split(", "))];

    private static async Task<string?> TagAsync(int port)
    {
        await using var client = await TaggedClient.TryConnectAsync(port);
        return client?.Tag;
    }

    /// <summary>Tenants <c>tenant-000</c>... each with a labelled namespace and a TCPMapping on the first of its two ports.</summary>
    private List<LoadedTenant> Load(int count)
    {
        var tenants = new List<LoadedTenant>();
        for (var i = 0; i < count; i++)
        {
            var tenant = new LoadedTenant($"tenant-{i:000}", $"ns-{i:000}", Ports.Free(), Ports.Free());
            Api.Apply(Namespaces, Objects.Namespace(tenant.Namespace, tenant.Name));
            Api.Apply(TcpMappings, Objects.TcpMapping(tenant.Namespace, "echo", tenant.First, Upstream));
            tenants.Add(tenant);
        }

        return tenants;
    }

    /// <summary>Starts the gateway, creates every tenant (its two ports allowed) and waits until each one's mapping is served.</summary>
    private async Task<KubeGateway> StartAsync(List<LoadedTenant> tenants)
    {
        var gateway = await KubeGateway.StartAsync(Api, "--api-rate-limit-per-source", "0");
        try
        {
            foreach (var tenant in tenants)
            {
                await gateway.CreateTenantAsync(tenant.Name, tenant.First, tenant.Second);
            }

            foreach (var tenant in tenants)
            {
                await Eventually.Until(async () => await Traffic.TryEchoAsync(tenant.First, "hi") == "hi", $"{tenant.Name}'s mapping to be served", TimeSpan.FromSeconds(120));
            }

            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until nothing moves (versions, evaluations) for a while; what is seen then, to compare with.</summary>
    private async Task<Mark> SettledAsync(KubeGateway gateway)
    {
        var last = await VersionsAsync(gateway);
        var lines = gateway.Logs.Lines.Count;
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(250, TestContext.Current.CancellationToken);
            var now = await VersionsAsync(gateway);
            if (!now.SequenceEqual(last) || new Mark(last, lines, 0).Evaluations(gateway).Count > 0)
            {
                (last, lines) = (now, gateway.Logs.Lines.Count);
                quiet.Restart();
            }
        }

        return new Mark(last, lines, Api.Requests.Count);
    }

    /// <summary>
    /// Since <paramref name="mark"/>: the source re-evaluated exactly <paramref name="evaluated"/> (each pass names
    /// them; the metric counts them) and the versions of exactly <paramref name="applied"/> moved.
    /// </summary>
    private async Task AssertOnlyAsync(KubeGateway gateway, Mark mark, string[] evaluated, string[] applied)
    {
        await Eventually.Until(
            async () => (await VersionsAsync(gateway)) is var now && applied.All(t => now.GetValueOrDefault(t) != mark.Versions.GetValueOrDefault(t)),
            $"{string.Join(", ", applied)} to be applied");
        var versions = (await SettledAsync(gateway)).Versions;
        var moved = versions.Where(p => mark.Versions.GetValueOrDefault(p.Key) != p.Value).Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(applied.Order(StringComparer.Ordinal), moved);
        Assert.Equal(evaluated.Order(StringComparer.Ordinal), mark.Evaluations(gateway).SelectMany(p => p).Distinct().Order(StringComparer.Ordinal));
    }

    private static async Task<SortedDictionary<string, long>> VersionsAsync(KubeGateway gateway)
    {
        var list = await gateway.Http.GetFromJsonAsync<JsonElement>("/api/v1/tenants", TestContext.Current.CancellationToken);
        return new SortedDictionary<string, long>(
            list.EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("version").GetInt64()), StringComparer.Ordinal);
    }

    private sealed record LoadedTenant(string Name, string Namespace, int First, int Second);

    /// <summary>Where things stood: each tenant's version, and how far the logs and the API server's requests had come.</summary>
    private sealed record Mark(SortedDictionary<string, long> Versions, int LogLines, int Requests)
    {
        /// <summary>The tenants each pass since re-evaluated, as its debug line names them.</summary>
        public List<string[]> Evaluations(KubeGateway gateway) => Named(gateway, LogLines, "Kubernetes: re-evaluated", "changed): ");

        /// <summary>The status patches and Events sent to the API server since.</summary>
        public List<string> Patches(FakeApiServer api) => [.. api.Requests.Skip(Requests)
            .Where(r => r.StartsWith("PATCH", StringComparison.Ordinal) || (r.StartsWith("POST", StringComparison.Ordinal) && r.Contains("/events", StringComparison.Ordinal)))];
    }
}
