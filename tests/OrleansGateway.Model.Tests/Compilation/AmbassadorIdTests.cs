using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

public sealed class AmbassadorIdTests
{
    public static TheoryData<string[], string, bool> Cases => new()
    {
        { [], "default", true },
        { [], "other", false },
        { ["default"], "default", true },
        { ["a", "b"], "b", true },
        { ["a", "b"], "default", false },
        { ["_automatic_"], "anything", true },
        { ["x", "_automatic_"], "anything", true },
        { ["Default"], "default", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Mapping_is_served_only_when_its_ids_match(string[] ids, string installation, bool served)
    {
        var m = Res.Tcp("m", 2222, "up:22") with { AmbassadorId = [.. ids] };

        var result = GatewayCompiler.Compile(new CompileInput([m], installation));

        Assert.Equal(served ? ResourceState.Accepted : ResourceState.Ignored, result.State(m));
        Assert.Equal(served ? 1 : 0, result.Plan.Listeners.Length);
        if (!served)
        {
            Assert.Contains($"'{installation}'", result.AllMessages(m), StringComparison.Ordinal);
            Assert.Contains(ids.Length == 0 ? "[default]" : string.Join(", ", ids), result.AllMessages(m), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ignored_resources_take_no_part()
    {
        // The only certificate source belongs to another installation, so the mapping finds none.
        var host = Res.Host("h", "a.example.com", "cert") with { AmbassadorId = ["other"] };
        var m = Res.Tcp("m", 443, "up:80", host: "a.example.com");

        var result = Res.Compile(host, m, Res.TlsSecret("cert"));

        Assert.Equal(ResourceState.Ignored, result.State(host));
        result.AssertDiscarded(m, "no Host or TLSContext provides a certificate for host a.example.com");
    }

    [Fact]
    public void Secrets_have_no_ambassador_id_and_are_never_ignored()
    {
        var secret = Res.TlsSecret("cert");

        var result = GatewayCompiler.Compile(new CompileInput([secret], "other"));

        Assert.Equal(ResourceState.Accepted, result.State(secret));
    }

    [Fact]
    public void Invalid_resource_is_discarded_with_its_loader_errors()
    {
        var error = new Diagnostic(Severity.Error, "field.type", "spec.port: expected an integer, got 'abc'", Field: "spec.port");
        var invalid = new InvalidResource { Name = "bad", OriginalKind = "TCPMapping", Errors = [error] };

        var result = Res.Compile(invalid);

        result.AssertDiscarded(invalid, "expected an integer");
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(invalid.Ref, diagnostic.Resource);
        Assert.Equal("spec.port", diagnostic.Field);
    }

    [Fact]
    public void Foreign_resource_is_ignored_with_a_note()
    {
        var foreign = new ForeignResource { Name = "web", OriginalKind = "Mapping" };

        var result = Res.Compile(foreign);

        Assert.Equal(ResourceState.Ignored, result.State(foreign));
        Assert.Contains("Mapping", result.AllMessages(foreign), StringComparison.Ordinal);
        Assert.Equal(Severity.Info, Assert.Single(result.Diagnostics).Severity);
    }
}
