using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace OrleansGateway.Host.Tests;

/// <summary>The gateway as operators run it: <c>dotnet OrleansGateway.Silo.dll</c>, stopped by SIGTERM.</summary>
public sealed class GatewayProcessTests
{
    private const int SigTerm = 15;

    [Fact]
    public async Task SIGTERM_stops_the_gateway_cleanly_and_frees_its_ports()
    {
        using var dir = new TempConfigDir();
        int port = Ports.Free(), apiPort = Ports.Free();
        dir.Write("tcp.yaml", Yaml.TcpMapping("plain", port, "127.0.0.1:9"));
        var silo = Path.Combine(AppContext.BaseDirectory, "OrleansGateway.Silo.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { silo, "--config-dir", dir.Path, "--bind-address", "127.0.0.1", "--api-url", $"http://127.0.0.1:{apiPort}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in Ports.SiloArgs())
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            var output = new StringBuilder();
            var errors = new StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(5) };

            var ready = await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync("/readyz");
                        return response.StatusCode == HttpStatusCode.OK;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        return process.HasExited;
                    }
                },
                TimeSpan.FromSeconds(30));
            Assert.True(ready && !process.HasExited, errors.ToString());

            Assert.Equal(0, Kill(process.Id, SigTerm));
            await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {errors}");
            Assert.Contains("Applied configuration generation 1", output.ToString(), StringComparison.Ordinal);
            Assert.Null(await Traffic.TryEchoAsync(port, "anyone?"));
        }
        finally
        {
            // A failed assertion must not leave a gateway running.
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    // .NET has no managed way to send SIGTERM (Process.Kill sends SIGKILL); the tests run on Linux.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
