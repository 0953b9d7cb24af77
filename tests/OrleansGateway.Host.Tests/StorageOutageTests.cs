using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// An apply through the API while the grain storage (a private Azurite, stopped) cannot be reached: refused promptly
/// with a 503 that names the storage, and the same apply succeeds once storage is back (docs/api.md, "Errors";
/// docs/reliability.md, "Measured under faults").
/// </summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private const string AdminKey = "admin-key-for-storage-outage-tests-01234";
    private const string Tenant = "outage";

    // An Azurite of its own: stopping the shared one would fail the other storage tests.
    private readonly AzuriteFixture _azurite = new();
    private readonly TempConfigDir _files = new();
    private readonly HttpClient _api = new() { Timeout = TimeSpan.FromSeconds(120) };

    public async ValueTask InitializeAsync() => await _azurite.InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        _api.Dispose();
        _files.Dispose();
        await _azurite.DisposeAsync();
    }

    [Fact]
    public async Task An_apply_during_a_storage_outage_is_refused_promptly_naming_storage_and_succeeds_once_it_is_back()
    {
        var service = "outage-" + Guid.NewGuid().ToString("N")[..8];
        var (keptPort, addedPort) = (Ports.Free(), Ports.Free());

        // Localhost clustering: membership does not depend on the stopped storage, only grain state does.
        await using var gateway = await RunningGateway.LaunchAsync(
        [
            "--storage", "azure", "--storage-connection-string", _azurite.ConnectionString, "--service-id", service, "--cluster-id", service,
            .. Ports.ClusterArgs(), "--admin-key-file", _files.Write("admin.key", AdminKey + "\n"),
        ]);
        _api.BaseAddress = gateway.Http.BaseAddress;

        var (created, tenant) = await CallAsync(HttpMethod.Post, "/api/v1/tenants", JsonBody(new
        {
            name = Tenant,
            quota = new { allowedPorts = new[] { $"{keptPort}", $"{addedPort}" }, allowedUpstreams = new[] { "127.0.0.1" } },
        }));
        Assert.True(created == HttpStatusCode.Created, tenant.ToString());
        var (applied, outcome) = await ApplyAsync(Yaml.TcpMapping("kept", keptPort, "127.0.0.1:9"));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());
        var before = (await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}/resources")).Body.ToString();

        await _azurite.StopAsync();
        var change = Yaml.TcpMapping("added", addedPort, "127.0.0.1:9");
        var clock = Stopwatch.StartNew();
        var (refused, problem) = await ApplyAsync(change);
        var elapsed = clock.Elapsed;

        Assert.True(refused == HttpStatusCode.ServiceUnavailable, problem.ToString());
        Assert.Contains("storage", problem.GetProperty("title").GetString(), StringComparison.Ordinal);
        Assert.Contains("not stored", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // With the SDK's default retries this one write took 4.5 s or more (0.8 + 1.6 + 3.2 s, jitter down to 80 %;
        // 5.7 s measured), with the grain storage's bounded ones 0.7 s: generous for a loaded machine, failed by the old.
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"the refusal took {elapsed.TotalSeconds:F1} s");
        TestContext.Current.TestOutputHelper?.WriteLine($"storage outage: apply refused with 503 after {elapsed.TotalSeconds:F2} s");

        // Reads answer from the active grain: the refused change left the tenant's resources as they were.
        Assert.Equal(before, (await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}/resources")).Body.ToString());

        // Once storage answers again, the same apply succeeds (the emulator may need a moment after its start).
        await _azurite.StartAsync();
        clock.Restart();
        var last = await Eventually.Get(() => ApplyAsync(change), r => r.Status == HttpStatusCode.OK, "the apply once storage is back", TimeSpan.FromSeconds(60));
        Assert.True(last.Status == HttpStatusCode.OK, last.Body.ToString());
        TestContext.Current.TestOutputHelper?.WriteLine($"storage back: the apply succeeded after {clock.Elapsed.TotalSeconds:F2} s");
        var (_, resources) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{Tenant}/resources");
        var text = resources.ToString();
        Assert.Contains("\"kept\"", text, StringComparison.Ordinal);
        Assert.Contains("\"added\"", text, StringComparison.Ordinal);
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> ApplyAsync(string yaml) =>
        CallAsync(HttpMethod.Post, $"/api/v1/tenants/{Tenant}/resources", new StringContent(yaml, Encoding.UTF8, "application/yaml"));

    private async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await _api.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static StringContent JsonBody(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
