using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "Resolvers": built-in resolvers, user resolvers, the Module default and Consul's
/// rules.
/// </summary>
public sealed class ResolverTests
{
    public static TheoryData<string?, string, ResolverKind, string?> BuiltIns => new()
    {
        { null, "kubernetes-service", ResolverKind.KubernetesService, null },
        { "kubernetes-service", "kubernetes-service", ResolverKind.KubernetesService, null },
        { "kubernetes-endpoint", "kubernetes-endpoint", ResolverKind.KubernetesEndpoint, null },
        { "endpoint", "kubernetes-endpoint", ResolverKind.KubernetesEndpoint, null },
        { "consul", "consul", ResolverKind.Consul, "dc1" },
        { "consul-endpoint", "consul", ResolverKind.Consul, "dc1" },
    };

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Built_in_resolvers_exist_without_resources(string? name, string planName, ResolverKind kind, string? dc)
    {
        var m = Res.Tcp("m", 2222, "up") with { Resolver = name };

        var result = Res.Compile(m);

        var resolver = result.Upstream(m).Resolver;
        Assert.Equal((planName, kind, dc), (resolver.Name, resolver.Kind, resolver.Datacenter));
    }

    [Fact]
    public void A_resource_replaces_the_built_in_of_its_name()
    {
        var consul = new ResolverResource { Name = "consul", ResolverKind = ResolverKind.Consul, Datacenter = "eu1", Address = "consul:8500" };
        var m = Res.Tcp("m", 2222, "up") with { Resolver = "consul" };

        var result = Res.Compile(consul, m);

        Assert.Equal(new ResolverPlan("consul", ResolverKind.Consul, "eu1", "consul:8500"), result.Upstream(m).Resolver);
        result.AssertAccepted(consul);
        Assert.Contains(consul.Ref, result.Listener(2222).Resources);
    }

    [Fact]
    public void Module_resolver_is_the_default_and_the_mapping_wins()
    {
        var module = Res.Module() with { Resolver = "endpoint" };
        var inherits = Res.Tcp("a", 2222, "up");
        var own = Res.Tcp("b", 2223, "up") with { Resolver = "consul" };

        var result = Res.Compile(module, inherits, own);

        Assert.Equal(ResolverKind.KubernetesEndpoint, result.Upstream(inherits).Resolver.Kind);
        Assert.Equal(ResolverKind.Consul, result.Upstream(own).Resolver.Kind);
    }

    [Theory]
    [InlineData("nope", false)]
    [InlineData(null, true)]
    public void Unknown_resolver_discards_the_mapping(string? mappingResolver, bool fromModule)
    {
        var module = Res.Module() with { Resolver = fromModule ? "missing" : null };
        var m = Res.Tcp("m", 2222, "up") with { Resolver = mappingResolver };
        var name = mappingResolver ?? "missing";

        var result = Res.Compile(module, m);

        result.AssertDiscarded(m, $"resolver {name}", "is unknown; define a KubernetesServiceResolver/KubernetesEndpointResolver/ConsulResolver named " + name);
        Assert.Empty(result.Plan.Listeners);
    }

    [Theory]
    [InlineData("svc.ns", true)]
    [InlineData("10.0.0.1:80", true)]
    [InlineData("svc", false)]
    public void Consul_rejects_dots(string service, bool discarded)
    {
        var m = Res.Tcp("m", 2222, service) with { Resolver = "consul" };

        var result = Res.Compile(m);

        if (discarded)
        {
            result.AssertDiscarded(m, "The Consul resolver does not allow dots in service names");
        }
        else
        {
            result.AssertAccepted(m);
        }
    }

    [Fact]
    public void Consul_warns_that_a_port_is_ignored()
    {
        var m = Res.Tcp("m", 2222, "svc:8080") with { Resolver = "consul" };

        var result = Res.Compile(m);

        result.AssertAccepted(m);
        Assert.Contains("does not allow overriding service port; ignoring requested port 8080", result.AllMessages(m), StringComparison.Ordinal);
        Assert.Contains(result.Diagnostics, d => d.Severity == Severity.Warning && d.Code == "resolver.consul_port");
    }

    [Fact]
    public void Second_resolver_with_the_same_name_is_discarded()
    {
        var a = new ResolverResource { Name = "r", Namespace = "a", ResolverKind = ResolverKind.KubernetesEndpoint };
        var b = new ResolverResource { Name = "r", Namespace = "b", ResolverKind = ResolverKind.Consul };

        var result = Res.Compile(b, a);

        result.AssertAccepted(a);
        result.AssertDiscarded(b, a.Ref.ToString());
    }
}
