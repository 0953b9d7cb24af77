using OrleansGateway.Model.Loading;
using OrleansGateway.Proxy;
using OrleansGateway.Silo;

namespace OrleansGateway.Host.Tests;

public sealed class GatewayCommandLineTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Program.RunAsync(args, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Help_documents_every_option()
    {
        var (exit, output, _) = await RunAsync("--help");

        Assert.Equal(0, exit);
        foreach (var option in new[]
        {
            "--config-dir", "--role", "--storage", "--storage-connection-string", "--storage-endpoint", "--clustering", "--silo-port", "--gateway-port",
            "--primary-silo", "--cluster-id", "--service-id", "--ambassador-id", "--bind-address", "--namespace", "--api-url",
            "--handshake-timeout", "--drain-timeout", "--server-first-timeout", "--relay-engine",
            "--max-connections", "--max-connections-per-listener", "--max-connections-per-source", "--max-tls-handshakes", "--max-snapshot-age",
        })
        {
            Assert.Matches($@"{option} <[^>]+>.*\S", output);
        }
    }

    [Theory]
    [InlineData("--storage", "disk", "disk")]
    [InlineData("--role", "router", "router")]
    [InlineData("--clustering", "zookeeper", "zookeeper")]
    [InlineData("--silo-port", "70000", "--silo-port 70000 is not a port")]
    [InlineData("--gateway-port", "11111", "--silo-port and --gateway-port must differ")]
    [InlineData("--primary-silo", "somewhere", "--primary-silo 'somewhere' is not an address:port")]
    [InlineData("--handshake-timeout", "soon", "not a duration")]
    [InlineData("--drain-timeout", "10", "not a duration")]
    [InlineData("--server-first-timeout", "0ms", "greater than zero")]
    [InlineData("--api-url", "ftp://127.0.0.1:1", "--api-url")]
    [InlineData("--bind-address", "localhost:80", "--bind-address")]
    [InlineData("--relay-engine", "epoll", "epoll")]
    [InlineData("--max-connections", "-1", "--max-connections -1 is negative")]
    [InlineData("--max-connections-per-source", "many", "many")]
    [InlineData("--max-tls-handshakes", "-5", "--max-tls-handshakes -5 is negative")]
    [InlineData("--max-snapshot-age", "0s", "--max-snapshot-age '0s' is not a positive duration")]
    [InlineData("--max-snapshot-age", "an hour", "--max-snapshot-age 'an hour'")]
    [InlineData("--storage-endpoint", "http://127.0.0.1:10002/devstoreaccount1", "--storage-endpoint 'http://127.0.0.1:10002/devstoreaccount1' is not an https URL")]
    [InlineData("--storage-endpoint", "table.core.windows.net", "is not an https URL")]
    [InlineData("--no-such-option", "1", "--no-such-option")]
    public async Task Bad_option_values_exit_2_with_a_clear_message(string option, string value, string expected)
    {
        using var dir = new TempConfigDir();

        var (exit, _, error) = await RunAsync("--config-dir", dir.Path, option, value);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_relay_engine_is_native_unless_managed_is_asked_for()
    {
        var commandLine = new GatewayCommandLine();

        var defaults = commandLine.Read(commandLine.Root.Parse([]), out var problem);
        var managed = commandLine.Read(commandLine.Root.Parse(["--relay-engine", "managed"]), out _);

        Assert.Null(problem);
        Assert.Equal(RelayEngine.Native, defaults.Proxy.RelayEngine);
        Assert.Equal(RelayEngine.Managed, managed.Proxy.RelayEngine);
    }

    [Fact]
    public void Connection_limits_have_documented_defaults_0_turns_one_off_and_the_snapshot_age_has_none()
    {
        var commandLine = new GatewayCommandLine();

        var defaults = commandLine.Read(commandLine.Root.Parse([]), out var problem);
        var set = commandLine.Read(commandLine.Root.Parse([
            "--max-connections", "7", "--max-connections-per-listener", "0", "--max-connections-per-source", "3", "--max-tls-handshakes", "2",
            "--max-snapshot-age", "10m"]), out var setProblem);

        Assert.Null(problem);
        Assert.Null(setProblem);
        Assert.Equal((100_000, 50_000, 10_000, 5_000), (defaults.Proxy.MaxConnections, defaults.Proxy.MaxConnectionsPerListener,
            defaults.Proxy.MaxConnectionsPerSource, defaults.Proxy.MaxTlsHandshakes));
        Assert.Null(defaults.MaxSnapshotAge);
        Assert.Equal((7, 0, 3, 2), (set.Proxy.MaxConnections, set.Proxy.MaxConnectionsPerListener, set.Proxy.MaxConnectionsPerSource, set.Proxy.MaxTlsHandshakes));
        Assert.Equal(TimeSpan.FromMinutes(10), set.MaxSnapshotAge);
    }

    [Fact]
    public void The_storage_endpoint_replaces_the_connection_string()
    {
        var commandLine = new GatewayCommandLine();

        var settings = commandLine.Read(commandLine.Root.Parse(["--storage-endpoint", "https://acct.table.core.windows.net"]), out var problem);

        Assert.Null(problem);
        Assert.Equal(new Uri("https://acct.table.core.windows.net"), settings.Cluster.StorageEndpoint);
    }

    [Fact]
    public async Task A_storage_endpoint_and_a_connection_string_together_exit_2_naming_both()
    {
        var (exit, _, error) = await RunAsync(
            "--storage-endpoint", "https://acct.table.core.windows.net", "--storage-connection-string", "UseDevelopmentStorage=true");

        Assert.Equal(2, exit);
        Assert.Contains("--storage-connection-string and --storage-endpoint", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_storage_endpoint_and_connection_string_from_the_environment_together_exit_2_naming_both()
    {
        // A process of its own: the variables must not reach the tests running beside this one.
        var (exit, _, error) = await GatewayProcess.RunAsync(
            new Dictionary<string, string>
            {
                ["OGW_STORAGE_ENDPOINT"] = "https://acct.table.core.windows.net",
                ["OGW_STORAGE_CONNECTION_STRING"] = "UseDevelopmentStorage=true",
            });

        Assert.Equal(2, exit);
        Assert.Contains("env OGW_STORAGE_CONNECTION_STRING and env OGW_STORAGE_ENDPOINT", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_absent_config_dir_exits_2()
    {
        var (absentExit, _, absentError) = await RunAsync("--config-dir", "/no/such/dir/for/ogw");

        Assert.Equal(2, absentExit);
        Assert.Contains("/no/such/dir/for/ogw", absentError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_never_prints_the_connection_string_from_the_environment()
    {
        // The variable is set for a gateway process of its own: set in this process, it would reach every test running
        // beside this one.
        const string key = "AccountKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=";
        var (exit, output, error) = await GatewayProcess.RunAsync(
            new Dictionary<string, string> { ["OGW_STORAGE_CONNECTION_STRING"] = $"DefaultEndpointsProtocol=http;AccountName=x;{key}" },
            "--help");

        Assert.Equal(0, exit);
        Assert.Contains("OGW_STORAGE_CONNECTION_STRING", output, StringComparison.Ordinal);
        Assert.DoesNotContain(key, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_api_url_that_cannot_be_bound_exits_1_with_the_reason()
    {
        using var occupier = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        occupier.Start();
        var port = ((System.Net.IPEndPoint)occupier.LocalEndpoint).Port;
        using var dir = new TempConfigDir();

        var (exit, _, error) = await RunAsync(["--config-dir", dir.Path, .. Ports.SiloArgs(), "--api-url", $"http://127.0.0.1:{port}"]);

        Assert.Equal(1, exit);
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5s", 1_500)]
    public void Durations_take_a_number_and_a_unit(string text, double milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }
}
