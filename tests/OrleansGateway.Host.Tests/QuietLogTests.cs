using System.Text.RegularExpressions;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The gateway's standard output as an operator reads it (docs/control-plane.md, "Logs"): at the default level the
/// gateway's own lifecycle and nothing of the framework's routine (Orleans' option dumps, Polly's execution attempts,
/// ASP.NET Core's start lines); one entry per line, whatever a tenant puts in its names.
/// </summary>
public sealed partial class QuietLogTests
{
    /// <summary>One console entry: timestamp, level, category[event], message.</summary>
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): [\w.]+\[-?\d+\] ")]
    private static partial Regex Entry();

    [Fact]
    public async Task Default_output_is_the_gateways_own_lifecycle_one_entry_per_line()
    {
        using var dir = new TempConfigDir();
        dir.Write("tcp.yaml", Yaml.TcpMapping("plain", Ports.Free(), "127.0.0.1:9"));

        // A name that, printed raw, would end its log line and forge a critical entry of its own.
        const string forged = "2026-01-01T00:00:00.000Z crit: OrleansGateway.Forged[0] the gateway was compromised";
        dir.Write("forged.yaml", Yaml.TcpMapping(System.Text.Json.JsonSerializer.Serialize("x\n" + forged), Ports.Free(), "127.0.0.1:9"));

        using var gateway = GatewayProcess.Start(["--config-dir", dir.Path, .. Ports.SiloArgs()]);
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));
        Assert.True(await Eventually.TrueAsync(() => Task.FromResult(gateway.Output.Contains("is Discarded", StringComparison.Ordinal)), TimeSpan.FromSeconds(20)),
            gateway.Output);
        Assert.Equal(0, await gateway.TerminateAsync(TimeSpan.FromSeconds(30)));

        var lines = gateway.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.All(lines, line => Assert.Matches(Entry(), line));
        Assert.Contains(lines, l => l.Contains("info: OrleansGateway.Silo[9] Silo role All", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("info: OrleansGateway.Edge.EdgeService[7] Applied configuration generation", StringComparison.Ordinal));

        // The framework only speaks up for warnings and errors.
        Assert.DoesNotContain(lines, l => Regex.IsMatch(l, @" (trce|dbug|info): (Microsoft|Orleans|Polly|System)\b"));
        Assert.DoesNotContain(lines, l => l.Contains("Execution attempt", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("SiloOptionsLogger", StringComparison.Ordinal));

        // The forged entry is text inside the Discarded warning's line, not a line of its own.
        Assert.DoesNotContain(lines, l => l.StartsWith("2026-01-01T00:00:00.000Z", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("x\\n" + forged, StringComparison.Ordinal) && l.Contains("warn: OrleansGateway.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Log_level_warning_silences_the_gateways_information()
    {
        using var gateway = GatewayProcess.Start([.. Ports.SiloArgs(), "--log-level", "warning"]);
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, await gateway.TerminateAsync(TimeSpan.FromSeconds(30)));

        Assert.DoesNotContain(" info: ", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Silo role", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_level_that_is_none_is_a_usage_error_from_the_option_or_the_environment()
    {
        var (exit, _, error) = await GatewayProcess.RunAsync(new Dictionary<string, string> { ["OGW_LOG_LEVEL"] = "loud" }, "--storage", "memory");
        Assert.Equal(2, exit);
        Assert.Contains("env OGW_LOG_LEVEL 'loud' is not a level", error, StringComparison.Ordinal);

        var (optionExit, _, optionError) = await GatewayProcess.RunAsync(new Dictionary<string, string>(), "--storage", "memory", "--log-level", "7");
        Assert.Equal(2, optionExit);
        Assert.Contains("--log-level '7' is not a level", optionError, StringComparison.Ordinal);
    }
}
