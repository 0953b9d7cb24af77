using Microsoft.AspNetCore.Builder;

namespace OrleansGateway.Testing;

/// <summary>
/// The real gateway (<c>Silo.Program.RunAsync</c>, the same code path as the process) run in the test process, with
/// its error output captured and a temporary directory for its files (keys, tokens, config), removed when it stops.
/// The one home of "start the gateway in-process and stop it" for the fixtures of the API, Key Vault and Kubernetes
/// tests; linked from tests/Shared/Gateway into the projects that reference the Silo.
/// </summary>
internal sealed class InProcessSilo : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _error = new();
    private readonly Task<int> _run;

    private InProcessSilo(string directory, IReadOnlyList<string> args, Action<WebApplicationBuilder>? configure)
    {
        Directory = directory;
        _run = Task.Run(() => Silo.Program.RunAsync([.. args], TextWriter.Null, _error, configure, _stop.Token));
    }

    /// <summary>The gateway's temporary directory (created before it starts, deleted after it stops).</summary>
    public string Directory { get; }

    /// <summary>Whether the gateway has stopped (by itself, or by <see cref="StopAsync"/>).</summary>
    public bool HasExited => _run.IsCompleted;

    /// <summary>What the gateway wrote to its error output.</summary>
    public string ErrorOutput => _error.ToString();

    /// <summary>A temporary directory for the files the gateway's options name, before it starts.</summary>
    public static string CreateDirectory(string prefix) => System.IO.Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>Starts the gateway with <paramref name="args"/>; <paramref name="directory"/> is removed when it stops.</summary>
    public static InProcessSilo Start(string directory, IReadOnlyList<string> args, Action<WebApplicationBuilder>? configure = null) =>
        new(directory, args, configure);

    /// <summary>Waits until the gateway exits by itself (a start that must fail): its exit code.</summary>
    public Task<int> ExitAsync(TimeSpan timeout) => _run.WaitAsync(timeout);

    /// <summary>Stops the gateway (as SIGTERM would) and waits up to 30 s: its exit code.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await _run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_run.IsCompleted)
        {
            await StopAsync();
        }

        _stop.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A watcher may still hold the directory for a moment; the OS cleans temp eventually.
        }
    }
}
