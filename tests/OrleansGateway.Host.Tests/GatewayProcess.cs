using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The gateway as operators run it, a child process (<c>dotnet OrleansGateway.Silo.dll</c>): so that a test can stop it
/// by SIGTERM or kill it abruptly, or run it to its exit with an environment of its own.
/// </summary>
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

    /// <param name="environment">Added to the child's environment only (never this process's, which parallel tests share).</param>
    public static GatewayProcess Start(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var apiPort = Ports.Free();
        var start = StartInfo([.. args, "--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1"]);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return new GatewayProcess(Process.Start(start)!, apiPort);
    }

    /// <summary>A client of the process's API (no Authorization header of its own).</summary>
    public HttpClient Http => _http;

    /// <summary>
    /// Runs the gateway process with <paramref name="args"/> and <paramref name="environment"/> added to its own environment
    /// (never this process's, which the tests running beside it share) until it exits (within a minute).
    /// </summary>
    public static async Task<(int Exit, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = StartInfo(args);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await output, await error);
    }

    private static ProcessStartInfo StartInfo(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OrleansGateway.Silo.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
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

    /// <summary>The body of /readyz with its status code, or null when the process does not answer.</summary>
    public Task<(HttpStatusCode Code, System.Text.Json.JsonElement Body)?> ReadyzAsync() => RunningGateway.ReadyzAsync(_http);

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM, as a service manager stops the gateway; the exit code once it has stopped (within <paramref name="timeout"/>).</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Assert.Equal(0, SendSignal(_process.Id, SigTerm));
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

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

    private const int SigTerm = 15;

    // .NET has no managed way to send SIGTERM (Process.Kill sends SIGKILL); the tests run on Linux.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private void Append(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
