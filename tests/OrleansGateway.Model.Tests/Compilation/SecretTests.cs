using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>docs/tcpmapping-semantics.md, "Secrets": namespaces, name.namespace, usability, external secrets.</summary>
public sealed class SecretTests
{
    // secret name written in the context (namespace app), secrets present (ns/name), secret_namespacing, expected ref (null: discarded)
    public static TheoryData<string, string[], bool?, string?> Lookup => new()
    {
        { "cert", ["app/cert"], null, "app/cert" },
        { "cert.certs", ["certs/cert"], null, "certs/cert" },
        { "cert.certs", ["app/cert.certs", "certs/cert"], null, "app/cert.certs" },
        { "cert.certs", ["app/cert.certs"], false, "app/cert.certs" },
        { "cert.certs", ["certs/cert"], false, null },
        { "cert", ["other/cert"], null, null },
        { "a.b.certs", ["certs/a.b"], null, "certs/a.b" },
    };

    [Theory]
    [MemberData(nameof(Lookup))]
    public void Secret_is_looked_up_in_the_referencing_namespace_or_the_named_one(string written, string[] present, bool? namespacing, string? expected)
    {
        var secrets = present.Select(p => p.Split('/')).Select(p => (Resource)Res.TlsSecret(p[1], p[0]));
        var ctx = Res.Ctx("ctx", written, ["db.example.com"], ns: "app") with { SecretNamespacing = namespacing };
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile([.. secrets, ctx, m]);

        if (expected is null)
        {
            result.AssertDiscarded(ctx, "found no certificate in Secret");
            result.AssertDiscarded(m, $"{ctx.Ref} would provide the certificate for host db.example.com, but it is itself discarded");
            return;
        }

        result.AssertAccepted(ctx);
        Assert.Equal(expected, result.Listener(443).SniRoutes[0].Termination!.Certificate.ToString());
    }

    [Fact]
    public void Host_tls_secret_namespace_field_is_honoured()
    {
        var host = Res.Host("h", "db.example.com", "cert") with { Namespace = "app", TlsSecretNamespace = "certs" };
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(host, m, Res.TlsSecret("cert", "certs"));

        Assert.Equal(new SecretRef("certs", "cert"), result.Listener(443).SniRoutes[0].Termination!.Certificate);
        Assert.Contains(new ResourceRef("Secret", "certs", "cert"), result.Listener(443).Resources);
    }

    [Fact]
    public void Tls_secret_without_key_is_discarded()
    {
        var secret = Res.TlsSecret("cert") with { TlsKey = null };
        var ctx = Res.Ctx("ctx", "cert", ["db.example.com"]);

        var result = Res.Compile(secret, ctx);

        result.AssertDiscarded(secret, "tls.key is missing");
        result.AssertDiscarded(ctx, "found no certificate in Secret default/cert");
    }

    [Fact]
    public void Opaque_secret_without_key_cannot_serve_as_certificate_but_is_accepted()
    {
        var secret = Res.CaSecret("cert");
        var host = Res.Host("h", "db.example.com", "cert");

        var result = Res.Compile(secret, host);

        result.AssertAccepted(secret);
        result.AssertDiscarded(host, "found no certificate in Secret default/cert: it needs tls.crt and tls.key");
    }

    // secret content (crt, key, ca), usable as CA
    public static TheoryData<bool, bool, bool, bool> CaUse => new()
    {
        { false, false, true, true },
        { true, false, false, true },
        { true, true, false, false },
        { true, true, true, true },
    };

    [Theory]
    [MemberData(nameof(CaUse))]
    public void Ca_secret_needs_ca_crt_or_a_crt_without_key(bool crt, bool key, bool ca, bool usable)
    {
        var secret = new SecretResource { Name = "ca", TlsCrt = crt ? "C" : null, TlsKey = key ? "K" : null, CaCrt = ca ? "A" : null };
        var ctx = Res.Ctx("ctx", null) with { Tls = new TlsParameters { CaSecret = "ca" } };

        var result = Res.Compile(secret, ctx);

        Assert.Equal(usable ? ResourceState.Accepted : ResourceState.Discarded, result.State(ctx));
    }

    [Fact]
    public void External_secrets_need_no_secret_resource()
    {
        var ctx = Res.Ctx("ctx", "vault-cert", ["db.example.com"]);
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(new CompileOptions(SecretsExternal: true), ctx, m);

        result.AssertAccepted(m);
        Assert.Equal(new SecretRef("default", "vault-cert"), result.Listener(443).SniRoutes[0].Termination!.Certificate);
    }
}
