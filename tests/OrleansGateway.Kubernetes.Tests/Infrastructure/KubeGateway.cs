using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansGateway.KeyVault.Tests.TestSupport;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>
/// The real gateway (Program.RunAsync, in-process) with <c>--kubernetes</c> at a <see cref="FakeApiServer"/>: memory
/// storage unless told otherwise, listeners on 127.0.0.1, an admin key for the management API.
/// </summary>
public sealed class KubeGateway : IAsyncDisposable
{
    public const string AdminKey = "admin-key-for-kubernetes-tests-0123456789";

    private readonly InProcessSilo _silo;

    private KubeGateway(string[] args, int apiPort, string directory)
    {
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(15) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        _silo = InProcessSilo.Start(directory, args, Configure);
    }

    public HttpClient Http { get; }

    private void Configure(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder)
    {
        builder.Logging.AddProvider(Logs);
        builder.Logging.AddFilter<CapturedLogs>("OrleansGateway", LogLevel.Debug);
    }

    /// <summary>Every log line of this gateway (for messages in failures, and "logged once" checks).</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>Starts the gateway with <c>--kubernetes --kubeconfig</c> of <paramref name="api"/> and waits until /readyz answers 200.</summary>
    public static async Task<KubeGateway> StartAsync(FakeApiServer api, params string[] extra)
    {
        var directory = InProcessSilo.CreateDirectory("ogw-kube-gw-");
        var keyFile = Path.Combine(directory, "admin.key");
        await File.WriteAllTextAsync(keyFile, AdminKey);
        var apiPort = Ports.Free();
        var storage = extra.Contains("--storage") ? [] : Ports.SiloArgs();
        string[] args =
        [
            .. storage, "--kubernetes", "--kubeconfig", api.KubeconfigPath,
            "--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1", "--admin-key-file", keyFile, .. extra,
        ];
        var gateway = new KubeGateway(args, apiPort, directory);
        var ready = await Eventually.TrueAsync(
            async () => gateway._silo.HasExited || (await gateway.ReadyzAsync())?.Code == HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        if (!ready || gateway._silo.HasExited)
        {
            var exitedByItself = gateway._silo.HasExited;
            var exit = await gateway._silo.StopAsync();
            await gateway._silo.DisposeAsync();
            throw new InvalidOperationException(
                $"the gateway did not become ready (exit code {(exitedByItself ? exit : "none")}): {gateway._silo.ErrorOutput}");
        }

        return gateway;
    }

    /// <summary>The body of /readyz with its status code, or null when the gateway does not answer.</summary>
    public async Task<(HttpStatusCode Code, JsonElement Body)?> ReadyzAsync()
    {
        try
        {
            using var response = await Http.GetAsync("/readyz");
            return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Creates tenant <paramref name="name"/> through the admin API, allowed the ports of <paramref name="ports"/> and loopback upstreams.</summary>
    public async Task CreateTenantAsync(string name, params int[] ports)
    {
        var allowedPorts = string.Join(", ", ports.Select(p => $"\"{p}\""));

        // The quota fields of the isolation issue (allowedUpstreams, allowedHosts) are sent when the API knows them.
        var full = $$$"""{"name": "{{{name}}}", "quota": {"allowedPorts": [{{{allowedPorts}}}], "allowedUpstreams": ["127.0.0.0/8"], "allowedHosts": ["*"]} }""";
        var basic = $$$"""{"name": "{{{name}}}", "quota": {"allowedPorts": [{{{allowedPorts}}}]} }""";
        using var first = await Http.PostAsync("/api/v1/tenants", new StringContent(full, Encoding.UTF8, "application/json"));
        if (first.IsSuccessStatusCode)
        {
            return;
        }

        using var second = await Http.PostAsync("/api/v1/tenants", new StringContent(basic, Encoding.UTF8, "application/json"));
        Assert.True(second.IsSuccessStatusCode, $"creating tenant {name}: {(int)second.StatusCode} {await second.Content.ReadAsStringAsync()}");
    }

    /// <summary>The tenant's resources as the API lists them (kind, namespace, name, source, status, messages).</summary>
    public async Task<JsonElement> ResourcesAsync(string tenant)
    {
        using var response = await Http.GetAsync($"/api/v1/tenants/{tenant}/resources");
        return response.StatusCode == HttpStatusCode.NotFound ? JsonDocument.Parse("[]").RootElement : await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The status of one resource of the tenant (<c>Accepted</c>, <c>Discarded</c>, ...), or null when it has none.</summary>
    public async Task<string?> ResourceStatusAsync(string tenant, string kind, string ns, string name)
    {
        foreach (var resource in (await ResourcesAsync(tenant)).EnumerateArray())
        {
            if (resource.GetProperty("kind").GetString() == kind && resource.GetProperty("namespace").GetString() == ns && resource.GetProperty("name").GetString() == name)
            {
                return resource.GetProperty("status").GetString();
            }
        }

        return null;
    }

    public async Task<string> MetricsAsync() => await Http.GetStringAsync("/metrics");

    public async ValueTask DisposeAsync()
    {
        var exit = await _silo.StopAsync();
        Http.Dispose();
        await _silo.DisposeAsync();
        Assert.True(exit == 0, $"gateway exited with {exit}: {_silo.ErrorOutput}");
    }
}
