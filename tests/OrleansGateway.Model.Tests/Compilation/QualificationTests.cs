using OrleansGateway.Model.Plan;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "Service" (namespace qualification): Kubernetes resolvers qualify a bare name with the
/// mapping's namespace.
/// </summary>
public sealed class QualificationTests
{
    // service, mapping namespace, resolver, expected Service
    public static TheoryData<string, string, string?, string> Cases => new()
    {
        { "backoffice", "default", null, "backoffice" },
        { "backoffice", "otherns", null, "backoffice.otherns" },
        { "backoffice.otherns", "otherns", null, "backoffice.otherns" },
        { "backoffice.otherns", "default", null, "backoffice.otherns" },
        { "backoffice:80", "otherns", null, "backoffice.otherns:80" },
        { "http://backoffice", "otherns", null, "http://backoffice.otherns" },
        { "https://backoffice:443", "otherns", null, "https://backoffice.otherns:443" },
        { "localhost", "otherns", null, "localhost" },
        { "localhost.otherns:80", "otherns", null, "localhost.otherns:80" },
        { "[fe80::e022:9cff:fecc:c7c4]", "other", null, "[fe80::e022:9cff:fecc:c7c4]" },
        { "10.1.2.3:80", "other", null, "10.1.2.3:80" },
        { "backoffice", "otherns", "kubernetes-endpoint", "backoffice.otherns" },
        { "backoffice", "otherns", "endpoint", "backoffice.otherns" },
        { "backoffice", "otherns", "consul", "backoffice" },
        { "backoffice:80", "otherns", "consul", "backoffice:80" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Unqualified_names_get_the_mapping_namespace(string service, string ns, string? resolver, string expected)
    {
        var m = Res.Tcp("m", 2222, service, ns: ns) with { Resolver = resolver };

        var result = Res.Compile(m);

        result.AssertAccepted(m);
        Assert.Equal(expected, result.Upstream(m).Service);
    }

    [Fact]
    public void The_gateway_namespace_comes_from_the_options()
    {
        var m = Res.Tcp("m", 2222, "backoffice", ns: "ambassador");
        var n = Res.Tcp("n", 2223, "backoffice", ns: "default");

        var result = Res.Compile(new CompileOptions(AmbassadorNamespace: "ambassador"), m, n);

        Assert.Equal("backoffice", result.Upstream(m).Service);
        Assert.Equal("backoffice.default", result.Upstream(n).Service);
        Assert.Equal("backoffice.default", result.Upstream(n).Target.Host);
    }

    [Fact]
    public void Module_can_turn_qualification_off()
    {
        var module = Res.Module() with { UseAmbassadorNamespaceForServiceResolution = true };
        var m = Res.Tcp("m", 2222, "backoffice:80", ns: "otherns");

        var result = Res.Compile(module, m);

        Assert.Equal("backoffice:80", result.Upstream(m).Service);
    }
}
