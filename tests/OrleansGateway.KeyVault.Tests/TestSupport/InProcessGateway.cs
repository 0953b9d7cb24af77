using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansGateway.Certificates;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>
/// The real gateway process (Program.RunAsync) in-process on free ports, with an admin key and every log line
/// captured; on memory storage, or on Azure Table storage (an Azurite) with a config directory. With a
/// <see cref="VaultStandIn"/> it runs with <c>--key-vault-uri</c> at the stand-in, and its Key Vault source gets the
/// stand-in's trust and token (the only difference from production).
/// </summary>
public sealed class InProcessGateway : IAsyncDisposable
{
    public const string AdminKey = "admin-key-for-keyvault-tests-0123456789";

    private readonly VaultStandIn? _vault;
    private InProcessSilo _silo = null!;

    private InProcessGateway(VaultStandIn? vault, HttpClient http)
    {
        _vault = vault;
        Http = http;
    }

    public CapturedLogs Logs { get; } = new();

    public HttpClient Http { get; }

    /// <param name="options">More options; without <c>--admin-key-vault-secret</c> among them the admin key is
    /// <see cref="AdminKey"/> from <c>--admin-key-file</c>.</param>
    /// <param name="scheme">The scheme of <c>--api-url</c>; https needs <paramref name="handler"/>, which trusts the API's certificate.</param>
    /// <param name="storage">An Azure Table storage connection string (an Azurite); memory storage when null.</param>
    /// <param name="configDir">Given as <c>--config-dir</c> when set.</param>
    public static async Task<InProcessGateway> StartAsync(VaultStandIn? vault, string[]? options = null, string scheme = "http",
        HttpMessageHandler? handler = null, string? storage = null, string? configDir = null)
    {
        var gateway = Launch(vault, options, scheme, handler, storage, configDir);
        await Eventually.Get(async () => gateway._silo.HasExited || (await gateway.Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, ok => ok, "the gateway to start", TimeSpan.FromSeconds(60));
        Assert.False(gateway._silo.HasExited, $"the gateway stopped: {gateway._silo.ErrorOutput}");
        return gateway;
    }

    /// <summary>Runs the gateway until it exits by itself (a start that must fail): its exit code and error output.</summary>
    public static async Task<(int Exit, string Error)> RunToExitAsync(VaultStandIn vault, string[] options)
    {
        await using var gateway = Launch(vault, options, "http", null, null, null);
        var exit = await gateway._silo.ExitAsync(TimeSpan.FromSeconds(60));
        return (exit, gateway._silo.ErrorOutput);
    }

    private static InProcessGateway Launch(VaultStandIn? vault, string[]? options, string scheme, HttpMessageHandler? handler, string? storage, string? configDir)
    {
        options ??= [];
        var directory = InProcessSilo.CreateDirectory("ogw-kv-api-");
        var keyFile = Path.Combine(directory, "admin.key");
        File.WriteAllText(keyFile, AdminKey);
        var apiPort = Ports.Free();
        List<string> args =
        [
            .. storage is null ? Ports.SiloArgs() : ["--storage", "azure", "--storage-connection-string", storage, .. Ports.ClusterArgs()],
            .. options,
            "--api-url", $"{scheme}://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1",

            // The attack tests send bursts; the rate limits have tests of their own (Api.Tests RateLimitTests).
            "--api-rate-limit", "0", "--api-rate-limit-per-source", "0",
        ];
        if (configDir is not null)
        {
            args.AddRange(["--config-dir", configDir]);
        }

        if (!options.Contains("--admin-key-vault-secret"))
        {
            args.AddRange(["--admin-key-file", keyFile]);
        }

        if (vault is not null)
        {
            args.AddRange(["--key-vault-uri", vault.VaultUri.ToString()]);
        }

        var http = new HttpClient(handler ?? new HttpClientHandler()) { BaseAddress = new Uri($"{scheme}://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(30) };
        var gateway = new InProcessGateway(vault, http);
        gateway._silo = InProcessSilo.Start(directory, args, gateway.Configure);
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        Http.Dispose();
    }

    /// <summary>Creates a tenant and issues a key; returns the token.</summary>
    public async Task<string> CreateTenantAsync(string name)
    {
        // Any port and host name, upstreams on loopback only (a tenant created without a quota may use nothing).
        var quota = new { allowedPorts = (string[]?)null, allowedUpstreams = new[] { "127.0.0.0/8" }, allowedHosts = new[] { "*" } };
        var (created, body) = await CallAsync(HttpMethod.Post, "/api/v1/tenants", AdminKey, Json(new { name, quota }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        var (_, key) = await CallAsync(HttpMethod.Post, $"/api/v1/tenants/{name}/keys", AdminKey, Json(new { description = "test" }));
        return key.GetProperty("token").GetString()!;
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(HttpMethod method, string path, string key, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Applies <paramref name="yaml"/> to <paramref name="tenant"/> through the API with <paramref name="key"/>.</summary>
    public Task<(HttpStatusCode Status, JsonElement Body)> ApplyAsync(string tenant, string key, string yaml) =>
        CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/resources", key, new StringContent(yaml, Encoding.UTF8, "application/yaml"));

    public static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private void Configure(WebApplicationBuilder builder)
    {
        builder.Logging.AddProvider(Logs);
        builder.Logging.AddFilter<CapturedLogs>("OrleansGateway", LogLevel.Trace);
        if (_vault is not null)
        {
            // The gateway registered Key Vault with DefaultAzureCredential; the stand-in needs its own trust and token. Every
            // user of the vault (tenants' certificates, the API's certificate, the admin key) asks for this one client,
            // which refreshes every --certificate-refresh as the gateway's own would.
            var vault = _vault;
            builder.Services.AddSingleton(sp => new KeyVaultCertificateSource(
                vault.Options(sp.GetRequiredService<Silo.GatewaySettings>().KeyVault?.RefreshInterval), new FixedTokenCredential(),
                sp.GetRequiredService<ILogger<KeyVaultCertificateSource>>()));
        }
    }
}

/// <summary>One stand-in and one gateway pointed at it, shared by a test class (tests use distinct tenants).</summary>
public class VaultGateway : IAsyncLifetime
{
    public VaultStandIn Vault { get; private set; } = null!;

    public InProcessGateway Gateway { get; private set; } = null!;

    /// <summary>More command-line options of the gateway.</summary>
    protected virtual string[] Options => [];

    public async ValueTask InitializeAsync()
    {
        Vault = await VaultStandIn.StartAsync();
        Gateway = await InProcessGateway.StartAsync(Vault, Options);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Vault.DisposeAsync();
    }
}

/// <summary>A <see cref="VaultGateway"/> whose certificates are read again every <see cref="Refresh"/> (<c>--certificate-refresh</c>).</summary>
public sealed class RefreshingVaultGateway : VaultGateway
{
    /// <summary>The shortest interval the option takes.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(10);

    protected override string[] Options => ["--certificate-refresh", "10s"];
}

/// <summary>A gateway without a vault, shared by a test class.</summary>
public sealed class PlainGateway : IAsyncLifetime
{
    public InProcessGateway Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Gateway = await InProcessGateway.StartAsync(null);

    public async ValueTask DisposeAsync() => await Gateway.DisposeAsync();
}
