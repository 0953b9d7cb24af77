using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>Statuses and message shapes: one status per resource, conflicts name both sides and say what to change.</summary>
public sealed class StatusTests
{
    [Fact]
    public void Group_conflict_message_names_both_mappings_and_the_fix()
    {
        var a = Res.Tcp("a", 2222, "one", host: "a.example.com") with { IdleTimeoutMs = 5000 };
        var b = Res.Tcp("b", 2222, "two", host: "a.example.com") with { IdleTimeoutMs = 10000 };

        var result = Res.Compile(b, a, Res.Host("h", "a.example.com", "cert"), Res.TlsSecret("cert"));

        var message = Assert.Single(result.Status(b).Messages);
        Assert.Equal("TCPMapping 'b' (namespace default) discarded: its group (0.0.0.0:2222, host a.example.com) was started by " +
            "TCPMapping 'a' (namespace default) with idle_timeout_ms 5000; this one has 10000. Make them agree, or move one to another port or host.",
            message);
        var d = result.Diagnostics.Single(d => d.Resource == b.Ref);
        Assert.Equal((Severity.Error, "spec.idle_timeout_ms", a.Ref), (d.Severity, d.Field, d.Related));
    }

    [Fact]
    public void Duplicate_identity_keeps_the_first_by_source()
    {
        var first = Res.Tcp("m", 2222, "one") with { Source = new SourceLocation("a.yaml", 0, 1) };
        var second = Res.Tcp("m", 2222, "two") with { Source = new SourceLocation("b.yaml", 0, 1) };

        var result = Res.Compile(second, first);

        Assert.Equal([ResourceState.Accepted, ResourceState.Discarded], result.Statuses.Select(s => s.State));
        Assert.Contains("defined twice; the definition at a.yaml: document 0 (line 1) is kept", result.Statuses[1].Messages[0], StringComparison.Ordinal);
        Assert.Equal(second.Source, result.Statuses[1].Source);
        Assert.Equal("one", Assert.Single(result.Upstreams()).Target.Host);
    }

    [Fact]
    public void Invalid_first_definition_still_claims_the_identity()
    {
        var invalid = new InvalidResource
        {
            Name = "m", OriginalKind = "TCPMapping", Source = new SourceLocation("a.yaml", 0, 1),
            Errors = [new Diagnostic(Severity.Error, "field.required", "spec.port is required", Field: "spec.port")],
        };
        var valid = Res.Tcp("m", 2222, "up") with { Source = new SourceLocation("b.yaml", 0, 1) };

        var result = Res.Compile(valid, invalid);

        Assert.Equal([ResourceState.Discarded, ResourceState.Discarded], result.Statuses.Select(s => s.State));
        Assert.Contains("defined twice", result.Statuses[1].Messages[0], StringComparison.Ordinal);
        Assert.Empty(result.Plan.Listeners);
    }

    [Fact]
    public void Stats_name_and_tenant_label_the_upstream()
    {
        var named = Res.Tcp("m", 2222, "up") with { StatsName = "ssh-prod", ClusterTag = "blue" };

        var u = Res.Compile(new CompileOptions(Tenant: "acme"), named).Upstream(named);

        Assert.Equal(("ssh-prod", "acme"), (u.StatsName, u.Tenant));
        Assert.Equal("tag:blue|up|ns:default", u.ClusterKey);
    }

    [Fact]
    public void Plan_carries_the_ambassador_id()
    {
        var result = GatewayCompiler.Compile(new CompileInput([], "edge-1"));

        Assert.Equal(GatewayPlan.Empty("edge-1").AmbassadorId, result.Plan.AmbassadorId);
        Assert.Empty(result.Plan.Listeners);
        Assert.Empty(result.Statuses);
        Assert.False(result.HasDiscarded);
    }
}
