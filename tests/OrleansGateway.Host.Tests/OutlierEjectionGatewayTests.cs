using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OrleansGateway.Cli;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// Outlier ejection through the gateway's interfaces (docs/tcpmapping-semantics.md, "Outlier ejection"): a tenant's
/// canary group with a dead member applied with <c>ogw</c>, the member ejected after failed connections through the
/// real edge, and <c>ogw status</c> showing it; <c>ogw check</c> refuses unknown annotation values naming the annotation.
/// </summary>
public sealed class OutlierEjectionGatewayTests(ClientGatewayFixture gateway) : IClassFixture<ClientGatewayFixture>
{
    private static string Member(string name, int port, string service, int weight, string annotations = "") =>
        Yaml.TcpMapping(name, port, service).Replace($"  name: {name}\n", $"  name: {name}\n{annotations}", StringComparison.Ordinal)
            .Replace($"  service: {service}\n", $"  service: {service}\n  weight: {weight}\n", StringComparison.Ordinal);

    [Theory]
    [InlineData("orleansgateway.io/outlier-detection", "\"disabled\"")]
    [InlineData("orleansgateway.io/health-check", "\"http\"")]
    [InlineData("orleansgateway.io/health-check-interval", "\"often\"")]
    public void Ogw_check_Discards_a_member_whose_annotation_value_is_unknown_naming_the_annotation(string annotation, string value)
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        var check = annotation.EndsWith("-interval", StringComparison.Ordinal) ? "    orleansgateway.io/health-check: \"tcp\"\n" : "";
        dir.Write("m.yaml", Member("good", port, "upstream:22", 50) + "\n"
            + Member("bad", port, "other:22", 50, $"  annotations:\n{check}    {annotation}: {value}\n"));

        using var report = CheckReport.Run(dir.Path);

        Assert.Equal(1, report.Exit);
        Assert.Equal("Discarded", report.Status("bad"));
        var diagnostic = report.Diagnostic("annotation.value");
        Assert.Equal("metadata.annotations." + annotation, diagnostic.GetProperty("field").GetString());
        Assert.Contains(annotation, diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_canary_member_applied_with_ogw_is_ejected_by_the_edge_and_ogw_status_shows_it()
    {
        var token = Tenant("canary-owner");
        var env = new Dictionary<string, string> { ["OGW_SERVER"] = gateway.Server, ["OGW_TOKEN"] = token };
        using var dead = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        dead.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never listening: every connect is refused
        var port = Ports.Free();
        using var dir = new TempConfigDir();
        dir.Write("group.yaml", Member("live", port, gateway.Upstream, 50) + "\n" + Member("dead", port, $"127.0.0.1:{((IPEndPoint)dead.LocalEndPoint!).Port}", 50));
        var applied = Run(env, "apply", "-f", dir.Path);
        Assert.True(applied.Exit == 0, applied.Text);

        // Clients meet the dead member about half the time until it has failed 5 times in a row; then it is ejected.
        string status = "";
        var ejected = await Eventually.TrueAsync(async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                await Traffic.TryEchoAsync(port, "ping");
            }

            status = Run(env, "status").Output;
            return status.Contains("default/dead ejected on edge", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30));
        Assert.True(ejected, status);
        Assert.Contains("5 connection attempts in a row failed", status, StringComparison.Ordinal);
        Assert.Contains("(ejection 1)", status, StringComparison.Ordinal);

        // From now on every client reaches the live member.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("pong", await Traffic.TryEchoAsync(port, "pong"));
        }

        var json = Run(env, "status", "-o", "json");
        using var document = JsonDocument.Parse(json.Output);
        var ejection = Assert.Single(Assert.Single(document.RootElement.GetProperty("listeners").EnumerateArray()).GetProperty("ejections").EnumerateArray());
        Assert.Equal("default/dead", ejection.GetProperty("mapping").GetString());
        Assert.Equal(JsonValueKind.Null, ejection.GetProperty("host").ValueKind);
        Assert.True(ejection.GetProperty("until").GetDateTimeOffset() - ejection.GetProperty("since").GetDateTimeOffset() == TimeSpan.FromSeconds(30));

        // Another tenant's status names none of it (its members, upstreams and reasons are this tenant's own).
        var nosy = new Dictionary<string, string> { ["OGW_SERVER"] = gateway.Server, ["OGW_TOKEN"] = Tenant("nosy-neighbour") };
        var other = Run(nosy, "status", "-o", "json");
        Assert.True(other.Exit == 0, other.Text);
        Assert.DoesNotContain("default/dead", other.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("ejection", other.Output, StringComparison.Ordinal);
    }

    private (int Exit, string Output, string Text) Run(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, output, error, environment);
        return (exit, output.ToString(), $"exit {exit}\nstdout:\n{output}\nstderr:\n{error}");
    }

    private string Tenant(string name)
    {
        var admin = new Dictionary<string, string> { ["OGW_SERVER"] = gateway.Server, ["OGW_TOKEN"] = gateway.AdminKey };
        var created = Run(admin, "tenants", "create", name, "--unlimited", "--upstreams", "127.0.0.0/8");
        Assert.True(created.Exit == 0, created.Text);
        var issued = Run(admin, "tenants", "keys", "issue", name, "-o", "json");
        Assert.True(issued.Exit == 0, issued.Text);
        using var key = JsonDocument.Parse(issued.Output);
        return key.RootElement.GetProperty("token").GetString()!;
    }
}
