using System.Text.Json;
using OrleansGateway.Kubernetes.Tests.Infrastructure;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Sources.Kubernetes;
using OrleansGateway.Sources.Kubernetes.Source;
using static OrleansGateway.Kubernetes.Tests.Infrastructure.FakeApiServer;

namespace OrleansGateway.Kubernetes.Tests;

/// <summary>
/// Namespaces to tenants (docs/kubernetes.md, "Tenants"), through the real API and sockets: a labelled namespace's
/// resources wait for their tenant and then appear under it; relabelling moves them; and what a label can never do:
/// give a namespace another tenant's quota or Secrets, or smuggle a name no API server accepts.
/// </summary>
public sealed class TenantTests : ClusterTest
{
    [Fact]
    public async Task A_labelled_namespace_waits_Discarded_for_its_tenant_and_is_served_under_it_once_an_admin_creates_it()
    {
        var port = Ports.Free();
        Api.Apply(Namespaces, Objects.Namespace("team", tenant: "acme"));
        Api.Apply(TcpMappings, Objects.TcpMapping("team", "echo", port, Upstream));
        await using var gateway = await KubeGateway.StartAsync(Api);

        var waiting = await StatusAsync("team", "echo", a => a is { Status: "False" });
        Assert.Equal("Discarded", waiting.Reason);
        Assert.Contains("tenant 'acme'", waiting.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", waiting.Message, StringComparison.Ordinal);
        Assert.Null(await Traffic.TryEchoAsync(port, "not yet"));

        await gateway.CreateTenantAsync("acme", port);

        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "acme") == "acme", "the mapping to be served once tenant acme exists");
        Assert.Equal("Accepted", await gateway.ResourceStatusAsync("acme", "TCPMapping", "team", "echo"));
        Assert.Equal(KubernetesSource.Name, Source(await gateway.ResourcesAsync("acme"), "TCPMapping", "echo"));
        Assert.Null(await gateway.ResourceStatusAsync("default", "TCPMapping", "team", "echo"));
        await StatusAsync("team", "echo", a => a is { Status: "True", Reason: "Accepted" });
    }

    [Fact]
    public async Task Relabelling_a_namespace_moves_its_resources_the_old_tenant_releasing_the_port_before_the_new_one_claims_it()
    {
        var port = Ports.Free();
        Api.Apply(Namespaces, Objects.Namespace("team"));
        Api.Apply(TcpMappings, Objects.TcpMapping("team", "echo", port, Upstream));
        await using var gateway = await KubeGateway.StartAsync(Api);
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "default") == "default", "the default tenant to serve the mapping", TimeSpan.FromSeconds(60));
        await gateway.CreateTenantAsync("acme", port);

        Api.Apply(Namespaces, Objects.Namespace("team", tenant: "acme"));

        // If acme claimed the port while the default tenant still held it, acme's mapping would be Discarded.
        await Eventually.Until(async () => await gateway.ResourceStatusAsync("acme", "TCPMapping", "team", "echo") == "Accepted", "the mapping to be Accepted under acme");
        Assert.Null(await gateway.ResourceStatusAsync("default", "TCPMapping", "team", "echo"));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(port, "moved") == "moved", "the port to be served by acme");

        // And back: the label removed, the namespace is the default tenant's again.
        Api.Apply(Namespaces, Objects.Namespace("team"));
        await Eventually.Until(async () => await gateway.ResourceStatusAsync("default", "TCPMapping", "team", "echo") == "Accepted", "the mapping to move back to default");
        Assert.Null(await gateway.ResourceStatusAsync("acme", "TCPMapping", "team", "echo"));
    }

    /// <summary>
    /// The attacker relabels the namespace they write resources in to another tenant's name, hoping that tenant's
    /// rights come with it: the resources move under that tenant's quota (a port outside it is refused) and out of the
    /// attacker's tenant; the victim's own mapping keeps being served. A label that only looks like a tenant's name
    /// (another case, a trailing newline) names no tenant at all.
    /// </summary>
    [Fact]
    public async Task A_namespace_relabelled_to_another_tenants_name_gets_that_tenants_quota_and_nothing_else()
    {
        int victimPort = Ports.Free(), attackerPort = Ports.Free();
        Api.Apply(Namespaces, Objects.Namespace("alpha-ns", tenant: "alpha"));
        Api.Apply(Namespaces, Objects.Namespace("mallory-ns", tenant: "mallory"));
        Api.Apply(TcpMappings, Objects.TcpMapping("alpha-ns", "site", victimPort, Upstream));
        Api.Apply(TcpMappings, Objects.TcpMapping("mallory-ns", "grab", attackerPort, Upstream));
        await using var gateway = await KubeGateway.StartAsync(Api);
        await gateway.CreateTenantAsync("alpha", victimPort);
        await gateway.CreateTenantAsync("mallory", attackerPort);
        await Eventually.Until(async () => await Traffic.TryEchoAsync(victimPort, "a") == "a" && await Traffic.TryEchoAsync(attackerPort, "m") == "m",
            "both tenants' mappings to be served", TimeSpan.FromSeconds(60));

        Api.Apply(Namespaces, Objects.Namespace("mallory-ns", tenant: "alpha"));

        var moved = await StatusAsync("mallory-ns", "grab", a => a is { Status: "False" } && a.Message.Contains($"{attackerPort}", StringComparison.Ordinal));
        Assert.Equal("Discarded", moved.Reason);
        Assert.Equal("Discarded", await gateway.ResourceStatusAsync("alpha", "TCPMapping", "mallory-ns", "grab"));
        Assert.Null(await gateway.ResourceStatusAsync("mallory", "TCPMapping", "mallory-ns", "grab"));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(attackerPort, "gone?") is null, "mallory's port to be released");
        Assert.Equal("still", await Traffic.EchoAsync(victimPort, "still"));

        foreach (var lookalike in new[] { "Alpha", "alpha\n", " alpha" })
        {
            Api.Apply(Namespaces, Objects.Namespace("mallory-ns", tenant: lookalike));
            var refused = await StatusAsync("mallory-ns", "grab", a => a is { Status: "False" } && a.Message.Contains("not a tenant name", StringComparison.Ordinal));
            Assert.Contains(KubernetesOptions.TenantLabel, refused.Message, StringComparison.Ordinal);
            Assert.Null(await gateway.ResourceStatusAsync("alpha", "TCPMapping", "mallory-ns", "grab"));
        }

        Assert.Equal("still", await Traffic.EchoAsync(victimPort, "still"));
    }

    /// <summary>
    /// A TLSContext names another tenant's Secret by <c>name.namespace</c>: the Secret is never handed to its tenant
    /// (the API shows no Secret there) and the TLSContext is Discarded for want of it, while a Secret of its own
    /// namespace works.
    /// </summary>
    [Fact]
    public async Task A_Secret_in_another_tenants_namespace_named_by_name_and_namespace_is_never_given_to_the_tenant()
    {
        using var victimCertificate = Objects.Certificate("victim.example");
        using var ownCertificate = Objects.Certificate("own.example");
        Api.Apply(Namespaces, Objects.Namespace("victim-ns", tenant: "victim"));
        Api.Apply(Namespaces, Objects.Namespace("mallory-ns", tenant: "mallory"));
        Api.Apply(Secrets, Objects.TlsSecret("victim-ns", "victim-cert", victimCertificate));
        Api.Apply(Secrets, Objects.TlsSecret("mallory-ns", "own-cert", ownCertificate));
        Api.Apply(Objects.Collection("tlscontexts"), Objects.TlsContext("mallory-ns", "steal", "victim.example", "victim-cert.victim-ns"));
        Api.Apply(Objects.Collection("tlscontexts"), Objects.TlsContext("mallory-ns", "own", "own.example", "own-cert"));
        await using var gateway = await KubeGateway.StartAsync(Api);
        await gateway.CreateTenantAsync("victim");
        await gateway.CreateTenantAsync("mallory");

        await Eventually.Until(async () => await gateway.ResourceStatusAsync("mallory", "TLSContext", "mallory-ns", "own") == "Accepted", "mallory's own TLSContext to be Accepted");
        Assert.Equal("Discarded", await gateway.ResourceStatusAsync("mallory", "TLSContext", "mallory-ns", "steal"));
        var resources = await gateway.ResourcesAsync("mallory");
        var secrets = resources.EnumerateArray().Where(r => r.GetProperty("kind").GetString() == "Secret").Select(r => $"{r.GetProperty("namespace").GetString()}/{r.GetProperty("name").GetString()}").ToList();
        Assert.Equal(["mallory-ns/own-cert"], secrets);
        // Its status said first that tenant mallory did not exist; then why it is Discarded.
        var steal = await Eventually.Get(
            () => Task.FromResult(Accepted.Of(Api.Get(Objects.Collection("tlscontexts"), "mallory-ns", "steal"))),
            a => a is { Status: "False" } && a.Message.Contains("victim-cert", StringComparison.Ordinal),
            "the status of the stealing TLSContext to name the Secret it lacks");
        Assert.Equal("Discarded", steal!.Reason);
    }

    /// <summary>
    /// An object whose name no API server would accept (a newline in it: what a forged log line needs) is refused
    /// without being applied; everything else stays served, and no log line carries the raw newline.
    /// </summary>
    [Fact]
    public async Task A_resource_with_a_newline_in_its_name_is_refused_and_breaks_nothing_else()
    {
        int good = Ports.Free(), evil = Ports.Free();
        const string forged = "x\nfail: OrleansGateway[0] tenant default deleted";
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "good", good, Upstream));
        Api.Apply(TcpMappings, Objects.TcpMapping("default", forged, evil, Upstream));
        await using var gateway = await KubeGateway.StartAsync(Api);

        await Eventually.Until(async () => await Traffic.TryEchoAsync(good, "good") == "good", "the well-named mapping to be served", TimeSpan.FromSeconds(60));
        await Eventually.Until(() => gateway.Logs.Lines.Any(l => l.Contains("is not a Kubernetes object name", StringComparison.Ordinal)), "the refusal to be logged");
        Assert.Null(await Traffic.TryEchoAsync(evil, "evil"));
        Assert.DoesNotContain(gateway.Logs.Lines, l => l.Contains(forged, StringComparison.Ordinal));
        Assert.Contains(gateway.Logs.Lines, l => l.Contains(LogText.Quote(forged), StringComparison.Ordinal));
        Assert.Null(await gateway.ResourceStatusAsync("default", "TCPMapping", "default", forged));

        // Still watching and applying.
        var after = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "after", after, Upstream));
        await Eventually.Until(async () => await Traffic.TryEchoAsync(after, "after") == "after", "a mapping added afterwards to be served");
    }

    private async Task<Accepted> StatusAsync(string ns, string name, Func<Accepted?, bool> condition) =>
        (await Eventually.Get(() => Task.FromResult(Accepted.Of(Api.Get(TcpMappings, ns, name))), condition, $"the status of {ns}/{name}"))!;

    private static string? Source(JsonElement resources, string kind, string name) => resources.EnumerateArray()
        .Where(r => r.GetProperty("kind").GetString() == kind && r.GetProperty("name").GetString() == name)
        .Select(r => r.GetProperty("source").GetString())
        .FirstOrDefault();
}
