using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "Service" and row 26 (cases from Emissary's svc_test.go / test_qualify_service.py).
/// </summary>
public sealed class ServiceParsingTests
{
    // service, normalized Service, target host, target port, TLS originated, IP literal
    public static TheoryData<string, string, string, int, bool, bool> Valid => new()
    {
        { "upstream:22", "upstream:22", "upstream", 22, false, false },
        { "upstream", "upstream", "upstream", 80, false, false },
        { "backoffice.otherns:80", "backoffice.otherns:80", "backoffice.otherns", 80, false, false },
        { "http://backoffice", "http://backoffice", "backoffice", 80, false, false },
        { "https://backoffice", "https://backoffice", "backoffice", 443, true, false },
        { "HTTPS://Up.Example.COM:8443", "https://up.example.com:8443", "up.example.com", 8443, true, false },
        { "//foo.ns:1234", "foo.ns:1234", "foo.ns", 1234, false, false },
        { "localhost:80", "localhost:80", "localhost", 80, false, false },
        { "10.0.0.1:5432", "10.0.0.1:5432", "10.0.0.1", 5432, false, true },
        { "[fe80::e022:9cff:fecc:c7c4]", "[fe80::e022:9cff:fecc:c7c4]", "fe80::e022:9cff:fecc:c7c4", 80, false, true },
        { "https://[fe80::e022:9cff:fecc:c7c4]:443", "https://[fe80::e022:9cff:fecc:c7c4]:443", "fe80::e022:9cff:fecc:c7c4", 443, true, true },
        { "https://[fe80::1%25eth0]", "https://[fe80::1%25eth0]", "fe80::1%eth0", 443, true, true },
        { "[::1]:9000", "[::1]:9000", "::1", 9000, false, true },
        { "a.b.c:65535", "a.b.c:65535", "a.b.c", 65535, false, false },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Valid_services_are_normalized(string service, string normalized, string host, int port, bool tls, bool ipLiteral)
    {
        var m = Res.Tcp("m", 2222, service);

        var result = Res.Compile(m);

        result.AssertAccepted(m);
        var u = result.Upstream(m);
        Assert.Equal(normalized, u.Service);
        Assert.Equal(host, u.Target.Host);
        Assert.Equal(port, u.Target.Port);
        Assert.Equal(tls, u.Origination is not null);
        Assert.Equal(ipLiteral, u.Target.IsIpLiteral);
    }

    public static TheoryData<string, string> Invalid => new()
    {
        { "https://bad-service:443:443", "too many ':'" },
        { "bad-service:443:443", "too many ':'" },
        { "a:1:2", "too many ':'" },
        { "https://[fe80::e022:9cff:fecc:c7c4:443", "'[' without ']'" },
        { "https://[fe80::e022:9cff:fecc:c7c4", "'[' without ']'" },
        { "https://fe80::e022:9cff:fecc:c7c4", "IPv6 address without brackets" },
        { "https://bad-service:-1", "port '-1'" },
        { "https://bad-service:70000", "port '70000'" },
        { "up:0", "port '0'" },
        { "up:", "port ''" },
        { "up:http", "port 'http'" },
        { ":80", "no host" },
        { "https://", "no host" },
        { "", "service is empty" },
        { "[fe80::1%eth0]", "escape '%' as '%25'" },
        { "[up.example.com]:80", "not an IPv6 address" },
        { "user@up:22", "user information" },
        { "up stream:22", "not a DNS name" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Malformed_services_discard_the_mapping(string service, string reason)
    {
        var m = Res.Tcp("m", 2222, service);

        var result = Res.Compile(m);

        result.AssertDiscarded(m, reason);
        Assert.Empty(result.Plan.Listeners);
        var d = Assert.Single(result.Diagnostics, d => d.Severity == Severity.Error);
        Assert.Equal("spec.service", d.Field);
    }

    public static TheoryData<string, string, string, int, bool> Warned => new()
    {
        // service, tls context, warning fragment, port, originates
        { "tcp://foo:5", "", "unknown scheme 'tcp'", 5, false },
        { "ambassador://foo.ns", "", "unknown scheme 'ambassador'", 80, false },
        { "up:22/some/path?q=1", "", "path or query", 22, false },
        { "http://up", "origin", "says http://, but tls: origin originates TLS anyway (to port 443)", 443, true },
        { "tcp://up", "origin", "unknown scheme 'tcp'", 443, true },
    };

    [Theory]
    [MemberData(nameof(Warned))]
    public void Oddities_warn_and_the_mapping_is_served(string service, string tls, string warning, int port, bool originates)
    {
        var m = Res.Tcp("m", 2222, service) with { Tls = tls.Length == 0 ? null : tls };

        var result = Res.Compile(m, Res.Ctx("origin", null));

        result.AssertAccepted(m);
        Assert.Contains(warning, result.AllMessages(m), StringComparison.Ordinal);
        Assert.Contains(result.Diagnostics, d => d.Severity == Severity.Warning && d.Resource == m.Ref && d.Field == "spec.service");
        var u = result.Upstream(m);
        Assert.Equal(port, u.Target.Port);
        Assert.Equal(originates, u.Origination is not null);
        Assert.DoesNotContain("://", u.Service.Replace("http://", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    public static TheoryData<string, string?, int> DefaultPorts => new()
    {
        { "up", null, 80 },
        { "http://up", null, 80 },
        { "https://up", null, 443 },
        { "up", "origin", 443 },
        { "http://up", "origin", 443 },
        { "https://up:8443", null, 8443 },
        { "up:8080", "origin", 8080 },
    };

    [Theory]
    [MemberData(nameof(DefaultPorts))]
    public void Default_port_is_443_when_originating_TLS_else_80(string service, string? tls, int port)
    {
        var m = Res.Tcp("m", 2222, service) with { Tls = tls };

        var result = Res.Compile(m, Res.Ctx("origin", null));

        Assert.Equal(port, result.Upstream(m).Target.Port);
    }

    [Fact]
    public void Parser_unescapes_the_zone_and_keeps_its_case()
    {
        var parsed = ServiceParser.Parse("[FE80::1%25Eth0]:22", out var error);

        Assert.Null(error);
        Assert.Equal("fe80::1%Eth0", parsed!.Host);
        Assert.Equal("[fe80::1%25Eth0]", ParsedService.HostText(parsed.Host));
    }
}
