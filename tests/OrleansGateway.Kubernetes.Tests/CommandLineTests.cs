using OrleansGateway.Kubernetes.Tests.Infrastructure;
using OrleansGateway.Silo;

namespace OrleansGateway.Kubernetes.Tests;

/// <summary>The gateway's Kubernetes options (docs/kubernetes.md, "Options"): documented, validated with a message naming the option.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_documents_the_Kubernetes_options()
    {
        var output = new StringWriter();
        var exit = await Program.RunAsync(["--help"], output, new StringWriter(), CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.Matches(@"--kubernetes\s+\S", output.ToString());
        foreach (var option in new[] { "--kubeconfig", "--kubernetes-namespace", "--kubernetes-default-tenant", "--kubernetes-service", "--advertised-address" })
        {
            Assert.Matches($@"{option} <[^>]+>.*\S", output.ToString());
        }
    }

    [Theory]
    [InlineData(new[] { "--kubeconfig", "/tmp/x" }, "--kubeconfig only applies with --kubernetes")]
    [InlineData(new[] { "--kubernetes-service", "a/b" }, "--kubernetes-service only applies with --kubernetes")]
    [InlineData(new[] { "--kubernetes-default-tenant", "ops" }, "--kubernetes-default-tenant only applies with --kubernetes")]
    [InlineData(new[] { "--kubernetes", "--kubernetes-namespace", "Team_A" }, "--kubernetes-namespace 'Team_A' is not a namespace name")]
    [InlineData(new[] { "--kubernetes", "--kubernetes-default-tenant", "Ops" }, "--kubernetes-default-tenant 'Ops' is not a tenant name")]
    [InlineData(new[] { "--kubernetes", "--kubernetes-service", "ogw-edge" }, "--kubernetes-service 'ogw-edge' is not NAMESPACE/NAME")]
    [InlineData(new[] { "--kubernetes", "--kubeconfig", "/nonexistent/kubeconfig" }, "--kubeconfig '/nonexistent/kubeconfig' does not exist")]
    [InlineData(new[] { "--advertised-address", "10.0.0.1" }, "--advertised-address only applies to --clustering azure")]
    [InlineData(new[] { "--clustering", "azure", "--advertised-address", "0.0.0.0" }, "--advertised-address '0.0.0.0' is not an IP address other silos can reach")]
    public async Task A_bad_value_is_refused_naming_the_option(string[] args, string expected)
    {
        var error = new StringWriter();
        var exit = await Program.RunAsync([.. args, "--storage", "memory"], new StringWriter(), error, CancellationToken.None);

        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_options_become_the_Kubernetes_settings()
    {
        await using var api = await FakeApiServer.StartAsync();
        var commandLine = new GatewayCommandLine();
        var parsed = commandLine.Root.Parse([
            "--kubernetes", "--kubeconfig", api.KubeconfigPath, "--kubernetes-namespace", "team-a", "--kubernetes-namespace", "team-b",
            "--kubernetes-default-tenant", "ops", "--kubernetes-service", "orleans-gateway/ogw-edge",
        ]);

        var settings = commandLine.Read(parsed, out var problem);

        Assert.Null(problem);
        var kubernetes = settings.Kubernetes!;
        Assert.Equal($"https://127.0.0.1:{api.Port}", kubernetes.Cluster.Host.TrimEnd('/'));
        Assert.Equal(["team-a", "team-b"], kubernetes.Namespaces);
        Assert.Equal("ops", kubernetes.DefaultTenant);
        Assert.Equal(new OrleansGateway.Sources.Kubernetes.ServiceRef("orleans-gateway", "ogw-edge"), kubernetes.Service);
        Assert.Null(commandLine.Read(commandLine.Root.Parse([]), out _).Kubernetes);
    }
}
