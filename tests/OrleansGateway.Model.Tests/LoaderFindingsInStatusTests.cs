using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests;

/// <summary>A resource's status tells everything about it, including what the loader found while reading it.</summary>
public sealed class LoaderFindingsInStatusTests
{
    private const string Yaml = """
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: typo
        spec:
          port: 2222
          service: upstream:22
          wieght: 3
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: broken
        spec:
          port: 99999
          service: upstream:23
        """;

    private static ResourceStatus StatusOf(string name)
    {
        var loaded = ResourceLoader.Parse(Yaml, "mappings.yaml");
        var result = GatewayCompiler.Compile(new CompileInput(loaded.Resources, "default", LoadDiagnostics: loaded.Diagnostics));
        return result.Statuses.Single(s => s.Resource.Name == name);
    }

    [Fact]
    public void An_unknown_field_warning_joins_the_status_of_an_accepted_resource_with_its_line()
    {
        var status = StatusOf("typo");

        Assert.Equal(ResourceState.Accepted, status.State);
        var message = Assert.Single(status.Messages);
        Assert.Contains("spec.wieght", message, StringComparison.Ordinal);
        Assert.Contains("(line 8)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_field_is_named_with_its_line_in_the_discarded_status_and_reported_once()
    {
        var status = StatusOf("broken");

        Assert.Equal(ResourceState.Discarded, status.State);
        var message = Assert.Single(status.Messages);
        Assert.Contains("spec.port", message, StringComparison.Ordinal);
        Assert.Contains("99999", message, StringComparison.Ordinal);
        Assert.Contains("(line 15)", message, StringComparison.Ordinal);
    }
}
