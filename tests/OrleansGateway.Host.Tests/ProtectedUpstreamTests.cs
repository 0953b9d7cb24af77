using OrleansGateway.Silo;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The command line of the egress rules: which ports the gateway protects and what an operator opens. The attacks on
/// them through real processes are in Attacks/EgressAttackTests.cs.
/// </summary>
public sealed class ProtectedUpstreamTests
{
    [Fact]
    public void The_command_line_protects_the_silo_gateway_and_api_ports_and_link_local_is_opt_in()
    {
        var commandLine = new GatewayCommandLine();

        var defaults = commandLine.Read(commandLine.Root.Parse([]), out var problem);
        var opted = commandLine.Read(commandLine.Root.Parse(
            ["--silo-port", "2001", "--gateway-port", "2002", "--api-url", "http://127.0.0.1:2003", "--allow-link-local-upstreams"]), out _);

        Assert.Null(problem);
        Assert.Equal([8080, 11111, 30000], defaults.Proxy.ProtectedPorts.Order());
        Assert.False(defaults.Proxy.AllowLinkLocalUpstreams);
        Assert.Equal([2001, 2002, 2003], opted.Proxy.ProtectedPorts.Order());
        Assert.True(opted.Proxy.AllowLinkLocalUpstreams);
    }

    [Fact]
    public void Allow_upstream_opens_ranges_and_a_bad_range_is_named()
    {
        var commandLine = new GatewayCommandLine();

        var opened = commandLine.Read(commandLine.Root.Parse(["--allow-upstream", "168.63.129.16", "--allow-upstream", "10.0.0.0/8"]), out var problem);
        commandLine.Read(commandLine.Root.Parse(["--allow-upstream", "10.0.0.1/8"]), out var bad);

        Assert.Null(problem);
        Assert.Equal(["168.63.129.16/32", "10.0.0.0/8"], opened.Proxy.AllowedUpstreamNetworks.Select(n => n.ToString()));
        Assert.NotNull(bad);
        Assert.Contains("--allow-upstream '10.0.0.1/8'", bad);
        Assert.Contains("10.0.0.0/8", bad);
    }

    [Fact]
    public async Task Help_documents_the_link_local_switch()
    {
        var output = new StringWriter();

        Assert.Equal(0, await Program.RunAsync(["--help"], output, TextWriter.Null, CancellationToken.None));
        Assert.Contains("--allow-link-local-upstreams", output.ToString());
        Assert.Contains("--allow-upstream", output.ToString());
    }
}
