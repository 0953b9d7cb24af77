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

        using var check = CheckReport.Run(dir.Path);

        Assert.Equal(1, check.Exit);
        Assert.Equal("Accepted", check.Status("db"));
        Assert.Equal("Discarded", check.Status("hostless"));
        var diagnostic = check.Diagnostic("annotation.value");
        Assert.Equal("metadata.annotations.orleansgateway.io/tls-passthrough", diagnostic.GetProperty("field").GetString());
        Assert.Contains("needs spec.host", diagnostic.GetProperty("message").GetString(), StringComparison.Ordinal);

        var listener = Assert.Single(check.Root.GetProperty("listeners").EnumerateArray(), l => l.GetProperty("port").GetInt32() == port);
        var route = Assert.Single(listener.GetProperty("routes").EnumerateArray());
        Assert.Equal("db.example.com", route.GetProperty("host").GetString());
        Assert.True(route.GetProperty("passthrough").GetBoolean());
    }
}
