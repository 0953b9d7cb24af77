using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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
    public async Task No_key_or_token_reaches_the_output_even_with_every_category_at_trace()
    {
        using var dir = new TempConfigDir();
        var adminKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(33));
        var metricsToken = Convert.ToBase64String(RandomNumberGenerator.GetBytes(33));
        using var gateway = GatewayProcess.Start(
            [.. Ports.SiloArgs(), "--admin-key-file", dir.Write("admin.key", adminKey), "--metrics-token-file", dir.Write("metrics.token", metricsToken), "--log-level", "trace"],
            new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Trace" });
        await gateway.WaitReadyAsync(TimeSpan.FromSeconds(60));

        using var created = await SendAsync(gateway, HttpMethod.Post, "/api/v1/tenants", "Bearer " + adminKey, """{"name":"acme"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var issued = await SendAsync(gateway, HttpMethod.Post, "/api/v1/tenants/acme/keys", "Bearer " + adminKey, "{}");
        var tenantToken = JsonDocument.Parse(await issued.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("token").GetString()!;
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + adminKey));

        // Every way a key travels, accepted and refused (a near miss is the kind of value a careless log would print).
        foreach (var (path, authorization, expected) in new (string, string, HttpStatusCode)[]
        {
            ("/api/v1/tenants", "Bearer " + adminKey, HttpStatusCode.OK),
            ("/api/v1/tenants", "Bearer " + adminKey + "x", HttpStatusCode.Unauthorized),
            ("/api/v1/tenants/acme/status", "Bearer " + tenantToken, HttpStatusCode.OK),
            ("/api/v1/tenants", "Bearer " + tenantToken, HttpStatusCode.Forbidden),
            ("/metrics", "Bearer " + metricsToken, HttpStatusCode.OK),
            ("/status", "Bearer " + metricsToken + "x", HttpStatusCode.Unauthorized),
            ("/dashboard/", "Basic " + basic, HttpStatusCode.OK),
        })
        {
            using var response = await SendAsync(gateway, HttpMethod.Get, path, authorization, null);
            Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode}");
        }

        Assert.Equal(0, await gateway.TerminateAsync(TimeSpan.FromSeconds(30)));
        var output = gateway.Output;
        Assert.Contains(" trce: ", output, StringComparison.Ordinal);
        Assert.Contains(" dbug: Microsoft.AspNetCore", output, StringComparison.Ordinal);
        foreach (var secret in new[] { adminKey, metricsToken, tenantToken, tenantToken.Split('.')[^1], basic })
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }
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

    private static async Task<HttpResponseMessage> SendAsync(GatewayProcess gateway, HttpMethod method, string path, string authorization, string? json)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await gateway.Http.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
