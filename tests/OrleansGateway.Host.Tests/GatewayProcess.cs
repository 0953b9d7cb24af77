using System.Diagnostics;
using System.Net;
using System.Text;

namespace OrleansGateway.Host.Tests;

/// <summary>The gateway as a child process (<c>dotnet OrleansGateway.Silo.dll</c>), so a test can kill it abruptly.</summary>
internal sealed class GatewayProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http;

    private GatewayProcess(Process process, int apiPort)
    {
        _process = process;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(5) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static GatewayProcess Start(string[] args)
    {
        var apiPort = Ports.Free();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OrleansGateway.Silo.dll"));
        foreach (var arg in args.Concat(["--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1"]))
        {
            start.ArgumentList.Add(arg);
        }

        return new GatewayProcess(Process.Start(start)!, apiPort);
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var ready = await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    using var response = await _http.GetAsync("/readyz");
                    return response.StatusCode == HttpStatusCode.OK;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return _process.HasExited;
                }
            },
            timeout);
        Assert.True(ready && !_process.HasExited, $"the gateway process did not become ready:\n{Output}");
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        _http.Dispose();
    }

    private void Append(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
