using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The real gateway host, run in-process on a free API port, stopped at dispose. It has a metrics token, which
/// <see cref="Http"/> sends, so that /status and /metrics answer (docs/api.md, "Serving the API").
/// </summary>
internal sealed class RunningGateway : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _error = new();
    private readonly Task<int> _run;
    private readonly string _tokenFile;

    private RunningGateway(string[] args, int apiPort, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure)
    {
        var token = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        _tokenFile = Path.GetTempFileName();
        File.WriteAllText(_tokenFile, token + "\n");
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(10) };
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        _run = Task.Run(() => Silo.Program.RunAsync([.. args, "--metrics-token-file", _tokenFile], TextWriter.Null, _error, configure, _stop.Token));
    }

    /// <summary>Sends the metrics token with every request.</summary>
    public HttpClient Http { get; }

    /// <summary>Starts a single-silo gateway on memory storage with <paramref name="configDir"/> (listeners on 127.0.0.1) and waits for its first apply.</summary>
    public static Task<RunningGateway> StartAsync(string configDir, params string[] extraArgs)
        => LaunchAsync(["--config-dir", configDir, .. Ports.SiloArgs(), .. extraArgs]);

    /// <summary>As <see cref="StartAsync(string, string[])"/>, with <paramref name="configure"/> changing the host's services before it is built.</summary>
    public static Task<RunningGateway> StartAsync(string configDir, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder> configure)
        => LaunchAsync(["--config-dir", configDir, .. Ports.SiloArgs()], configure: configure);

    /// <summary>
    /// Starts the gateway with <paramref name="args"/> (plus a free API port and listeners on 127.0.0.1) and waits until
    /// /status answers (60 s unless <paramref name="startTimeout"/> says otherwise).
    /// </summary>
    /// <param name="configure">Changes the host's services before it is built (e.g. a FakeTimeProvider for one service).</param>
    public static async Task<RunningGateway> LaunchAsync(
        string[] args, TimeSpan? startTimeout = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null)
    {
        var apiPort = Ports.Free();
        var gateway = new RunningGateway([.. args, "--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1"], apiPort, configure);
        var started = await Eventually.TrueAsync(
            async () => gateway._run.IsCompleted || await gateway.StatusCodeAsync("/status") == HttpStatusCode.OK,
            startTimeout ?? TimeSpan.FromSeconds(60));
        if (!started || gateway._run.IsCompleted)
        {
            // Stopped without the exit-code assertion of DisposeAsync, so that this message is the one reported.
            await gateway._stop.CancelAsync();
            var exit = await gateway._run.WaitAsync(TimeSpan.FromSeconds(30));
            gateway.Http.Dispose();
            File.Delete(gateway._tokenFile);
            throw new InvalidOperationException(
                $"the gateway did not apply its first configuration within {startTimeout ?? TimeSpan.FromSeconds(60)} (exit code {exit}): {gateway._error}");
        }

        return gateway;
    }

    public async Task<HttpStatusCode?> StatusCodeAsync(string path)
    {
        try
        {
            using var response = await Http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    public async Task<JsonElement> StatusAsync() => await Http.GetFromJsonAsync<JsonElement>("/status");

    /// <summary>The body of /readyz with its status code, or null when the gateway does not answer.</summary>
    public Task<(HttpStatusCode Code, JsonElement Body)?> ReadyzAsync() => ReadyzAsync(Http);

    /// <summary>The body of /readyz at <paramref name="http"/>'s gateway with its status code, or null when it does not answer.</summary>
    public static async Task<(HttpStatusCode Code, JsonElement Body)?> ReadyzAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("/readyz");
            return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>The status of one resource in <c>/status</c>, or null when it is not listed.</summary>
    public static JsonElement? Resource(JsonElement status, string kind, string name)
    {
        foreach (var resource in status.GetProperty("resources").EnumerateArray())
        {
            if (resource.GetProperty("kind").GetString() == kind && resource.GetProperty("name").GetString() == name)
            {
                return resource;
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        var exit = await _run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, $"gateway exited with {exit}: {_error}");
        Http.Dispose();
        _stop.Dispose();
        File.Delete(_tokenFile);
    }
}
