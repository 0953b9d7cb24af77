namespace OrleansGateway.Proxy;

/// <summary>
/// The process-wide setting of .NET's socket engine that the data plane is tuned for. The runtime reads it once, when
/// the process creates its first socket, so a host calls <see cref="Apply"/> first thing in <c>Main</c>.
/// </summary>
public static class SocketEngineDefaults
{
    /// <summary>
    /// Inline completions: a socket continuation runs on the epoll thread that saw the event instead of being queued
    /// to the thread pool, which saves a thread hop per receive and send. Measured in docs/benchmarks.md (proxy CPU
    /// per GB and per connection). Safe for the copy loops because they never block there; TLS handshakes and
    /// connection starts are handed to the thread pool.
    /// </summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns inline completions on unless the environment already decides (set the variable to 0 to turn them off).</summary>
    public static void Apply()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }
}
