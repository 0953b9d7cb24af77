using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Api.Tests.Infrastructure;

/// <summary>
/// The real gateway process (Program.RunAsync) in-process on memory storage and free ports, with an admin key file,
/// a config directory holding tenant <see cref="ConfigTenant"/>, and every log line captured. Shared by the test classes.
/// </summary>
public sealed class ApiGateway : IAsyncLifetime
{
    public const string AdminKey = "admin-key-for-tests-0123456789abcdef";
    public const string ConfigTenant = "legacy";

    /// <summary>The read-only token of /status and /metrics (<c>--metrics-token-file</c>).</summary>
    public const string MetricsToken = "metrics-token-for-tests-0123456789";

    private readonly bool _withAdminKey;
    private readonly string[] _extraArgs;
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _error = new();
    private readonly TaskCompletionSource<IServiceProvider> _services = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _directory = "";
    private Task<int> _run = Task.FromResult(0);

    /// <summary>The shared gateway: its tests send bursts no client would, so the API's rate limits (RateLimitTests) are off.</summary>
    public ApiGateway()
        : this(withAdminKey: true, "--api-rate-limit", "0", "--api-rate-limit-per-source", "0")
    {
    }

    /// <param name="withAdminKey">False: a gateway started without an admin key.</param>
    /// <param name="extraArgs">More command-line options of the gateway.</param>
    internal ApiGateway(bool withAdminKey, params string[] extraArgs)
    {
        _withAdminKey = withAdminKey;
        _extraArgs = extraArgs;
    }

    public HttpClient Http { get; private set; } = null!;

    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>Makes chosen writes of the gateway's grain storage fail.</summary>
    public StorageFaults Faults { get; } = new();

    public int ConfigPort { get; } = Ports.Free();

    /// <summary>The gateway's own ports (an attacker's favourite upstreams and listener ports).</summary>
    public int SiloPort { get; } = Ports.Free();

    public int OrleansGatewayPort { get; } = Ports.Free();

    public int ApiPort => Http.BaseAddress!.Port;

    public IServiceProvider Services => _services.Task.Result;

    public async ValueTask InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("ogw-api-tests-").FullName;
        var keyFile = Path.Combine(_directory, "admin.key");
        await File.WriteAllTextAsync(keyFile, AdminKey + "\n");
        var tokenFile = Path.Combine(_directory, "metrics.token");
        await File.WriteAllTextAsync(tokenFile, MetricsToken + "\n");
        var config = Path.Combine(_directory, "config");
        Directory.CreateDirectory(Path.Combine(config, ConfigTenant));
        await File.WriteAllTextAsync(Path.Combine(config, ConfigTenant, "m.yaml"), Yaml.TcpMapping("old", ConfigPort, "127.0.0.1:9"));

        var apiPort = Ports.Free();
        string[] args =
        [
            "--storage", "memory", "--clustering", "localhost", "--silo-port", $"{SiloPort}", "--gateway-port", $"{OrleansGatewayPort}",
            "--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1", "--config-dir", config, "--metrics-token-file", tokenFile,
            .. _withAdminKey ? ["--admin-key-file", keyFile] : Array.Empty<string>(),
            .. _extraArgs,
        ];
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(20) };
        _run = Task.Run(() => Silo.Program.RunAsync(args, TextWriter.Null, _error, Configure, _stop.Token));
        var started = await Eventually.TrueAsync(
            async () => _run.IsCompleted || await ReadyAsync(),
            TimeSpan.FromSeconds(60));
        Assert.True(started && !_run.IsCompleted, $"the gateway did not start: {_error}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        var exit = await _run.WaitAsync(TimeSpan.FromSeconds(30));
        Http.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A watcher may still hold the directory; the OS cleans temp eventually.
        }

        Assert.True(exit == 0, $"gateway exited with {exit}: {_error}");
    }

    public HttpRequestMessage Request(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, HttpContent? content = null) =>
        await Http.SendAsync(Request(method, path, key, content));

    /// <summary>Sends and returns the status with the parsed JSON body (default when there is none).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        using var response = await SendAsync(method, path, key, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static StringContent JsonBody(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    public static StringContent YamlBody(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");

    /// <summary>
    /// Creates a tenant and issues a key; returns the token. Its quota allows <paramref name="ports"/> (none given: any
    /// port), upstreams on loopback (the tests' servers listen there) and every host name; a test of the quota itself
    /// creates its tenant explicitly.
    /// </summary>
    public async Task<string> CreateTenantAsync(string name, params int[] ports)
    {
        var quota = new
        {
            allowedPorts = ports.Length == 0 ? null : ports.Select(p => $"{p}").ToArray(),
            allowedUpstreams = new[] { "127.0.0.0/8" },
            allowedHosts = new[] { "*" },
        };
        var (created, body) = await CallAsync(HttpMethod.Post, "/api/v1/tenants", AdminKey, JsonBody(new { name, quota }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        return await IssueKeyAsync(name);
    }

    public async Task<string> IssueKeyAsync(string tenant)
    {
        var (status, key) = await CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/keys", AdminKey, JsonBody(new { description = "test" }));
        Assert.Equal(HttpStatusCode.Created, status);
        return key.GetProperty("token").GetString()!;
    }

    /// <summary>The admin's view of a tenant plus its resources and keys, to compare before and after a refused request.</summary>
    public async Task<string> SnapshotAsync(string tenant)
    {
        var (_, view) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}", AdminKey);
        var (_, resources) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/resources", AdminKey);
        var (_, keys) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/keys", AdminKey);
        return $"{view}\n{resources}\n{keys}";
    }

    public async Task<long> VersionAsync(string tenant)
    {
        var (status, view) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}", AdminKey);
        Assert.Equal(HttpStatusCode.OK, status);
        return view.GetProperty("version").GetInt64();
    }

    private async Task<bool> ReadyAsync()
    {
        try
        {
            using var response = await Http.GetAsync("/readyz");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private void Configure(WebApplicationBuilder builder)
    {
        builder.Logging.AddProvider(new CapturingLoggerProvider(Log));
        builder.Logging.AddFilter<CapturingLoggerProvider>("OrleansGateway", LogLevel.Trace);
        builder.Logging.AddFilter<CapturingLoggerProvider>("Microsoft.AspNetCore", LogLevel.Debug);
        builder.Services.AddSingleton<IHostedService>(sp => new ServicesProbe(sp, _services));
        Faults.Install(builder.Services, GatewayStorage.Name);
    }

    /// <summary>Hands the app's services to the tests (the endpoint data source, for one).</summary>
    private sealed class ServicesProbe(IServiceProvider services, TaskCompletionSource<IServiceProvider> target) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            target.TrySetResult(services);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>Keeps every formatted log line, with its exception and its structured values, for secret checks.</summary>
internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
        }
    }
}

/// <summary>
/// One gateway for every test class: starting one takes seconds (more on a busy machine), and the tests use distinct
/// tenant names, so they share it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<ApiGateway>
{
    public const string Name = "gateway";
}
