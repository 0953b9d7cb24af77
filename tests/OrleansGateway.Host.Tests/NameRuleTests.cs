using System.Net;
using OrleansGateway.Cli.Commands;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// Names Kubernetes would refuse are Discarded by <c>ogw check</c> and by the gateway's config directory, each with a
/// diagnostic naming the file, the document, the line and the field (docs/resource-model.md, "Names").
/// </summary>
public sealed class NameRuleTests
{
    /// <summary>Documents 0-4 of names.yaml: one good mapping, then the attacks.</summary>
    private static TempConfigDir Names(int goodPort, string upstream)
    {
        var dir = new TempConfigDir();
        dir.Write("names.yaml", string.Join('\n',
            Yaml.TcpMapping("good", goodPort, upstream),
            Yaml.TcpMapping("bad_name", Ports.Free(), upstream),
            Yaml.TcpMapping("\"bad\\nname\"", Ports.Free(), upstream),
            Yaml.TcpMapping("Upper", Ports.Free(), upstream),
            Yaml.TcpMapping("in-bad-ns", Ports.Free(), upstream).Replace("  name: in-bad-ns", "  name: in-bad-ns\n  namespace: bad_ns", StringComparison.Ordinal)));
        return dir;
    }

    [Fact]
    public void Ogw_check_Discards_each_with_its_file_document_line_and_field()
    {
        using var dir = Names(2222, "upstream:22");

        using var check = CheckReport.Run(dir.Path);

        Assert.Equal(1, check.Exit);
        Assert.Equal("Accepted", check.Status("good"));
        foreach (var (name, document, field) in new[]
        {
            ("bad_name", 1, "metadata.name"), ("bad\nname", 2, "metadata.name"), ("Upper", 3, "metadata.name"), ("in-bad-ns", 4, "metadata.namespace"),
        })
        {
            var resource = check.Resource(name);
            Assert.Equal("Discarded", resource.GetProperty("status").GetString());
            var diagnostic = check.Diagnostic(d => d.GetProperty("code").GetString() == "field.name" && d.GetProperty("document").GetInt32() == document);
            Assert.Equal(field, diagnostic.GetProperty("field").GetString());
            Assert.EndsWith("names.yaml", diagnostic.GetProperty("file").GetString(), StringComparison.Ordinal);
            Assert.Equal(resource.GetProperty("source").GetProperty("line").GetInt32() + (field == "metadata.name" ? 3 : 4), diagnostic.GetProperty("line").GetInt32());
            Assert.Contains("lowercase letters, digits", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain('\n', diagnostic.GetProperty("message").GetString()!);
        }
    }

    [Fact]
    public async Task The_config_directory_Discards_them_and_serves_the_rest()
    {
        await using var echo = EchoServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var goodPort = Ports.Free();
        using var dir = Names(goodPort, $"127.0.0.1:{echo.Endpoint.Port}");

        await using var gateway = await RunningGateway.StartAsync(dir.Path);

        var status = await gateway.StatusAsync();
        foreach (var name in new[] { "bad_name", "bad\nname", "Upper", "in-bad-ns" })
        {
            var resource = RunningGateway.Resource(status, "TCPMapping", name)!.Value;
            Assert.Equal("Discarded", resource.GetProperty("status").GetString());
            Assert.Contains(resource.GetProperty("messages").EnumerateArray(), m => m.GetString()!.Contains("DNS-1123", StringComparison.Ordinal));
        }

        Assert.Equal("Accepted", RunningGateway.Resource(status, "TCPMapping", "good")!.Value.GetProperty("status").GetString());
        Assert.Equal("served", await Traffic.EchoAsync(goodPort, "served"));
        Assert.Single(status.GetProperty("listeners").EnumerateArray());
    }
}
