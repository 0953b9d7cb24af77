using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "TLS origination": https:// or tls:, context lookup by name, SNI, verification.
/// </summary>
public sealed class OriginationTests
{
    [Fact]
    public void Https_alone_originates_without_certificate_or_verification()
    {
        var m = Res.Tcp("m", 2222, "https://upstream-host:9999");

        var o = Res.Compile(m).Upstream(m).Origination!;

        Assert.Equal(new TlsOrigination(null, null, "upstream-host", null, null, null, [], []) with { CipherSuites = o.CipherSuites, AlpnProtocols = o.AlpnProtocols }, o);
        Assert.Empty(o.CipherSuites);
    }

    [Fact]
    public void Cleartext_upstream_has_no_origination()
    {
        var m = Res.Tcp("m", 2222, "http://up:80");

        Assert.Null(Res.Compile(m).Upstream(m).Origination);
    }

    // service, context sni, expected sni
    public static TheoryData<string, string?, string?> Sni => new()
    {
        { "up.example.com:443", null, "up.example.com" },
        { "up.example.com:443", "my-funny-name", "my-funny-name" },
        { "10.0.0.1:443", null, null },
        { "[::1]:443", null, null },
        { "10.0.0.1:443", "named", "named" },
        { "backend", null, "backend.other" },
    };

    [Theory]
    [MemberData(nameof(Sni))]
    public void Upstream_sni_is_the_context_sni_else_the_dns_name(string service, string? sni, string? expected)
    {
        var ctx = Res.Ctx("client", "cert", ns: "other") with { Tls = new TlsParameters { Sni = sni } };
        var m = Res.Tcp("m", 2222, service, ns: "other") with { Tls = "client" };

        var result = Res.Compile(ctx, m, Res.TlsSecret("cert", "other"));

        Assert.Equal(expected, result.Upstream(m).Origination!.Sni);
    }

    [Fact]
    public void Context_supplies_client_certificate_ca_and_versions()
    {
        var ctx = Res.Ctx("client", "cert") with
        {
            Tls = new TlsParameters { CaSecret = "ca", MinTlsVersion = "v1.2", CipherSuites = ["c1"], AlpnProtocols = ["x"] },
        };
        var m = Res.Tcp("m", 2222, "up.example.com") with { Tls = "client" };

        var result = Res.Compile(ctx, m, Res.TlsSecret("cert"), Res.CaSecret("ca"));

        var u = result.Upstream(m);
        var o = u.Origination!;
        Assert.Equal(ctx.Ref, o.Context);
        Assert.Equal(new SecretRef("default", "cert"), o.ClientCertificate);
        Assert.Equal(new SecretRef("default", "ca"), o.TrustedCa);
        Assert.Equal(TlsVersion.Tls12, o.MinVersion);
        Assert.Equal(new[] { "c1" }, o.CipherSuites.ToArray());
        Assert.Equal(new[] { "x" }, o.AlpnProtocols.ToArray());
        Assert.Equal(443, u.Target.Port);
        Assert.Equal("up.example.com|otls:client.default|ns:default", u.ClusterKey);
        Assert.Contains(ctx.Ref, result.Listener(2222).Resources);
        Assert.Contains(new ResourceRef("Secret", "default", "ca"), result.Listener(2222).Resources);
    }

    [Fact]
    public void Context_without_secret_still_originates()
    {
        // Emissary #4476: Emissary treats such a context as missing and sends plaintext.
        var ctx = Res.Ctx("sni-only", null) with { Tls = new TlsParameters { Sni = "inner.example.com", MinTlsVersion = "v1.3" } };
        var m = Res.Tcp("m", 2222, "up") with { Tls = "sni-only" };

        var o = Res.Compile(ctx, m).Upstream(m).Origination!;

        Assert.Null(o.ClientCertificate);
        Assert.Equal("inner.example.com", o.Sni);
        Assert.Equal(TlsVersion.Tls13, o.MinVersion);
    }

    // tls value, context namespaces present, expected namespace (null: discarded)
    public static TheoryData<string, string[], string?> Lookup => new()
    {
        { "cc", ["bbb", "aaa"], "aaa" },
        { "cc.bbb", ["aaa", "bbb"], "bbb" },
        { "cc.zzz", ["aaa"], null },
        { "nope", ["aaa"], null },
    };

    [Theory]
    [MemberData(nameof(Lookup))]
    public void Tls_names_a_context_in_any_namespace(string tls, string[] namespaces, string? expected)
    {
        var contexts = namespaces.Select(ns => (Resource)Res.Ctx("cc", null, ns: ns));
        var m = Res.Tcp("m", 2222, "up.example.com", ns: "mine") with { Tls = tls };

        var result = Res.Compile([.. contexts, m]);

        if (expected is null)
        {
            result.AssertDiscarded(m, $"tls '{tls}' names no TLSContext");
            return;
        }

        Assert.Equal(new ResourceRef("TLSContext", expected, "cc"), result.Upstream(m).Origination!.Context);
    }

    [Fact]
    public void Dotted_context_name_is_found_literally_first()
    {
        var dotted = Res.Ctx("client.tlsclient", null, ns: "aaa");
        var split = Res.Ctx("client", null, ns: "tlsclient");
        var m = Res.Tcp("m", 2222, "up.example.com") with { Tls = "client.tlsclient" };

        var result = Res.Compile(split, m, dotted);

        Assert.Equal(dotted.Ref, result.Upstream(m).Origination!.Context);
    }

    [Fact]
    public void Tls_naming_a_discarded_context_says_so()
    {
        var ctx = Res.Ctx("broken", "missing-secret");
        var m = Res.Tcp("m", 2222, "up") with { Tls = "broken" };

        var result = Res.Compile(ctx, m);

        result.AssertDiscarded(ctx, "found no certificate in Secret default/missing-secret");
        result.AssertDiscarded(m, "tls 'broken' names TLSContext 'broken' (namespace default), which is discarded");
    }
}
