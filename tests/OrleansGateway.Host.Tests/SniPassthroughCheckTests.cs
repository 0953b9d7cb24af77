using System.Text.Json;
using OrleansGateway.Cli;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// SNI passthrough through <c>ogw check</c> (the loader and compiler every source uses; docs/tcpmapping-semantics.md,
/// "SNI passthrough"): a passthrough host needs no Host, TLSContext or Secret and is reported as passthrough; the
/// annotation without <c>host</c> Discards the mapping with an error naming the annotation.
/// </summary>
public sealed class SniPassthroughCheckTests
{
    private static string Passthrough(string name, int port, string service, string? host) =>
        Yaml.TcpMapping(name, port, service, host).Replace($"  name: {name}\n",
            $"  name: {name}\n  annotations:\n    orleansgateway.io/tls-passthrough: \"true\"\n", StringComparison.Ordinal);

    [Fact]
    public void Ogw_check_accepts_a_passthrough_host_without_certificate_and_discards_one_without_host()
    {
        using var dir = new TempConfigDir();
        var port = Ports.Free();
        dir.Write("m.yaml", Passthrough("db", port, "db:5432", "db.example.com") + "\n" + Passthrough("hostless", Ports.Free(), "db:5432", null));
        var output = new StringWriter();

        var exit = Program.Run(["check", dir.Path, "--output", "json"], output, new StringWriter());

        Assert.Equal(1, exit);
        using var json = JsonDocument.Parse(output.ToString());
        var resources = json.RootElement.GetProperty("resources").EnumerateArray().ToList();
        Assert.Equal("Accepted", Assert.Single(resources, r => r.GetProperty("name").GetString() == "db").GetProperty("status").GetString());
        Assert.Equal("Discarded", Assert.Single(resources, r => r.GetProperty("name").GetString() == "hostless").GetProperty("status").GetString());
        var diagnostic = Assert.Single(json.RootElement.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "annotation.value");
        Assert.Equal("metadata.annotations.orleansgateway.io/tls-passthrough", diagnostic.GetProperty("field").GetString());
        Assert.Contains("needs spec.host", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);

        var listener = Assert.Single(json.RootElement.GetProperty("listeners").EnumerateArray(), l => l.GetProperty("port").GetInt32() == port);
        var route = Assert.Single(listener.GetProperty("routes").EnumerateArray());
        Assert.Equal("db.example.com", route.GetProperty("host").GetString());
        Assert.True(route.GetProperty("passthrough").GetBoolean());
    }
}
