using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>
/// docs/tcpmapping-semantics.md, "TLS termination: where the certificate comes from": Hosts first (most specific wins),
/// then TLSContexts by exact string, else discard.
/// </summary>
public sealed class TerminationLookupTests
{
    private static readonly Resource[] Secrets = [Res.TlsSecret("s-any"), Res.TlsSecret("s-wild"), Res.TlsSecret("s-deep"), Res.TlsSecret("s-exact"), Res.TlsSecret("s-ctx")];

    // mapping host, Hosts present (name=hostname), expected certificate source name (null: TLSContext 'ctx')
    public static TheoryData<string, string[], string?> Specificity => new()
    {
        { "foo.example.com", ["any=*", "wild=*.example.com", "exact=foo.example.com"], "exact" },
        { "foo.example.com", ["any=*", "wild=*.example.com"], "wild" },
        { "foo.a.example.com", ["wild=*.example.com", "deep=*.a.example.com"], "deep" },
        { "foo.example.com", ["any=*"], "any" },
        { "bar.example.com", ["exact=foo.example.com", "wild=*.example.com"], "wild" },
        // Overlap both ways: a specific Host can serve a wildcard mapping host.
        { "*.example.com", ["exact=foo.example.com"], "exact" },
        { "*.example.com", ["exact=foo.example.com", "wild=*.example.com"], "wild" },
        { "*.example.com", ["exact=foo.example.com", "deep=*.a.example.com", "any=*"], "exact" },
        { "*", ["exact=foo.example.com", "wild=*.example.com"], "exact" },
        { "foo.example.org", ["wild=*.example.com"], null },
    };

    [Theory]
    [MemberData(nameof(Specificity))]
    public void Most_specific_matching_host_supplies_the_certificate(string mappingHost, string[] hosts, string? expected)
    {
        var resources = hosts.Select(h => h.Split('=')).Select(p => (Resource)Res.Host(p[0], p[1], "s-" + p[0])).ToList();
        var m = Res.Tcp("m", 443, "up:80", host: mappingHost);
        var ctx = Res.Ctx("ctx", "s-ctx", [mappingHost]);

        var result = Res.Compile([.. resources, m, ctx, .. Secrets]);

        var termination = Assert.Single(result.Listener(443).SniRoutes).Termination!;
        Assert.Equal(expected is null ? ctx.Ref : new ResourceRef("Host", "default", expected), termination.CertificateSource);
        Assert.Equal(new SecretRef("default", "s-" + (expected ?? "ctx")), termination.Certificate);
    }

    [Fact]
    public void Tie_between_equally_specific_hosts_goes_to_namespace_then_name()
    {
        var b = Res.Host("b", "*.example.com", "cert", ns: "aaa");
        var a = Res.Host("a", "*.example.com", "cert", ns: "bbb");
        var m = Res.Tcp("m", 443, "up", host: "x.example.com");

        var result = Res.Compile(a, m, b, Res.TlsSecret("cert", "aaa"), Res.TlsSecret("cert", "bbb"));

        Assert.Equal(b.Ref, result.Listener(443).SniRoutes[0].Termination!.CertificateSource);
    }

    [Fact]
    public void Host_without_tls_is_skipped()
    {
        var bare = Res.Host("bare", "db.example.com", null);
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(bare, m, Res.Ctx("ctx", "cert", ["db.example.com"]), Res.TlsSecret("cert"));

        Assert.Equal(new ResourceRef("TLSContext", "default", "ctx"), result.Listener(443).SniRoutes[0].Termination!.CertificateSource);
        Assert.Contains("provides no certificate", result.AllMessages(bare), StringComparison.Ordinal);
    }

    // context hosts, mapping host, matches
    public static TheoryData<string[], string, bool> ExactContext => new()
    {
        { ["my-host-1", "my-host-2"], "my-host-2", true },
        { ["*.wild.com"], "*.wild.com", true },
        { ["*.wild.com"], "a.wild.com", false },
        { ["A.Example.com"], "a.example.COM", true },
        { ["a.example.com"], "b.example.com", false },
    };

    [Theory]
    [MemberData(nameof(ExactContext))]
    public void Tls_context_hosts_match_as_exact_strings(string[] hosts, string mappingHost, bool matches)
    {
        var m = Res.Tcp("m", 443, "up", host: mappingHost);

        var result = Res.Compile(m, Res.Ctx("ctx", "cert", hosts), Res.TlsSecret("cert"));

        Assert.Equal(matches ? ResourceState.Accepted : ResourceState.Discarded, result.State(m));
    }

    [Fact]
    public void First_context_by_namespace_and_name_wins_and_needs_a_secret()
    {
        var noSecret = Res.Ctx("a", null, ["db.example.com"], ns: "aaa");
        var second = Res.Ctx("b", "cert", ["db.example.com"], ns: "aaa");
        var third = Res.Ctx("a", "cert", ["db.example.com"], ns: "bbb");
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(third, m, second, noSecret, Res.TlsSecret("cert", "aaa"), Res.TlsSecret("cert", "bbb"));

        Assert.Equal(second.Ref, result.Listener(443).SniRoutes[0].Termination!.CertificateSource);
    }

    [Fact]
    public void Context_listing_the_host_without_secret_says_so()
    {
        var ctx = Res.Ctx("ctx", null, ["db.example.com"]);
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        Res.Compile(ctx, m).AssertDiscarded(m, "lists host 'db.example.com' but has no secret");
    }

    [Fact]
    public void No_certificate_discards_the_mapping()
    {
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");
        var other = Res.Tcp("other", 443, "up2", host: "ok.example.com");

        var result = Res.Compile(m, other, Res.Host("h", "ok.example.com", "cert"), Res.TlsSecret("cert"));

        result.AssertDiscarded(m, "no Host or TLSContext provides a certificate for host db.example.com; add a Host with hostname db.example.com " +
            "and a tlsSecret, or a TLSContext with hosts: [db.example.com] and a secret");
        Assert.Equal(["ok.example.com"], result.Listener(443).SniRoutes.Select(r => r.Host.Text));
    }

    [Fact]
    public void Termination_carries_the_tls_settings()
    {
        var ctx = Res.Ctx("ctx", "cert", ["db.example.com"]) with
        {
            Tls = new TlsParameters
            {
                MinTlsVersion = "v1.2", MaxTlsVersion = "v1.3", CipherSuites = ["ECDHE-RSA-AES128-GCM-SHA256"], AlpnProtocols = ["h2", "http/1.1"],
                CaSecret = "ca", CertRequired = true,
            },
        };
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(ctx, m, Res.TlsSecret("cert"), Res.CaSecret("ca"));

        var t = result.Listener(443).SniRoutes[0].Termination!;
        Assert.Equal(new SecretRef("default", "cert"), t.Certificate);
        Assert.Equal((TlsVersion.Tls12, TlsVersion.Tls13), (t.MinVersion!.Value, t.MaxVersion!.Value));
        Assert.Equal(new[] { "ECDHE-RSA-AES128-GCM-SHA256" }, t.CipherSuites.ToArray());
        Assert.Equal(new[] { "h2", "http/1.1" }, t.AlpnProtocols.ToArray());
        Assert.Equal(new SecretRef("default", "ca"), t.ClientCa);
        Assert.True(t.ClientCertificateRequired);
        Assert.Equal(
            new[] { new ResourceRef("Secret", "default", "ca"), new("Secret", "default", "cert"), m.Ref, ctx.Ref },
            result.Listener(443).Resources.ToArray());
    }

    [Fact]
    public void Cert_required_without_a_ca_discards_the_context_because_no_handshake_could_succeed()
    {
        var ctx = Res.Ctx("ctx", "cert", ["db.example.com"]) with { Tls = new TlsParameters { CertRequired = true } };
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(ctx, m, Res.TlsSecret("cert"));

        result.AssertDiscarded(ctx, "cert_required is true but there is no ca_secret");
        result.AssertDiscarded(m, $"{ctx.Ref} would provide the certificate for host db.example.com, but it is itself discarded");
    }

    [Theory]
    [InlineData("v1.4", "min_tls_version 'v1.4' is not a TLS version")]
    [InlineData("TLSv1.2", "min_tls_version 'TLSv1.2' is not a TLS version")]
    public void Bad_version_discards_the_context_and_the_mapping_finds_no_certificate(string version, string message)
    {
        var ctx = Res.Ctx("ctx", "cert", ["db.example.com"]) with { Tls = new TlsParameters { MinTlsVersion = version } };
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(ctx, m, Res.TlsSecret("cert"));

        result.AssertDiscarded(ctx, message);
        result.AssertDiscarded(m, $"{ctx.Ref} would provide the certificate for host db.example.com, but it is itself discarded");
    }

    [Fact]
    public void Host_with_tls_context_uses_its_settings_and_secret()
    {
        var ctx = Res.Ctx("hctx", "cert") with { Tls = new TlsParameters { MinTlsVersion = "v1.3" } };
        var host = new HostResource { Name = "h", Hostname = "*.example.com", TlsContextName = "hctx" };
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(ctx, host, m, Res.TlsSecret("cert"));

        var t = result.Listener(443).SniRoutes[0].Termination!;
        Assert.Equal(host.Ref, t.CertificateSource);
        Assert.Equal(TlsVersion.Tls13, t.MinVersion);
        Assert.Contains(ctx.Ref, result.Listener(443).Resources);
    }

    [Fact]
    public void Host_naming_a_missing_tls_context_is_discarded()
    {
        var host = new HostResource { Name = "h", Hostname = "db.example.com", TlsContextName = "nope" };

        Res.Compile(host).AssertDiscarded(host, "tlsContext 'nope' names no TLSContext");
    }

    public static TheoryData<HostResource, string> BadHosts => new()
    {
        { new HostResource { Name = "h", Hostname = "db.example.com", TlsContextName = "nosecret" }, "has no secret and the Host has no tlsSecret" },
        { Res.Host("h", "db.example.com", "cert") with { Tls = new TlsParameters { MaxTlsVersion = "1.3" } }, "max_tls_version '1.3' is not a TLS version" },
        { Res.Host("h", "db.example.com", "cert") with { Tls = new TlsParameters { MinTlsVersion = "v1.3", MaxTlsVersion = "v1.2" } }, "is above max_tls_version" },
        { Res.Host("h", "db.example.com", "cert") with { Tls = new TlsParameters { CaSecret = "cert" } }, "ca_secret: found no CA certificate in Secret default/cert" },
        { Res.Host("h", "db.example.com", "missing"), "found no certificate in Secret default/missing" },
        { new HostResource { Name = "h", Hostname = "db.example.com", TlsContextName = "broken" }, "is TLSContext 'broken' (namespace default), which is discarded" },
    };

    [Theory]
    [MemberData(nameof(BadHosts))]
    public void Unusable_host_is_discarded_and_supplies_no_certificate(HostResource host, string message)
    {
        var m = Res.Tcp("m", 443, "up", host: "db.example.com");

        var result = Res.Compile(host, m, Res.Ctx("nosecret", null), Res.Ctx("broken", "missing"), Res.TlsSecret("cert"));

        result.AssertDiscarded(host, message);
        result.AssertDiscarded(m, $"{host.Ref} would provide the certificate for host db.example.com, but it is itself discarded");
    }

    [Theory]
    [InlineData("a.example.com:3002", "host 'a.example.com:3002' contains ':' (a port?), but the name a TLS client sends (SNI) never carries a port")]
    [InlineData("a.*.com", "host 'a.*.com' has '*' somewhere other than as the whole leftmost label")]
    [InlineData("*example.com", "host '*example.com' has '*' somewhere other than as the whole leftmost label")]
    [InlineData("example.*", "host 'example.*' has '*' somewhere other than as the whole leftmost label")]
    [InlineData("a..com", "host 'a..com' has an empty label")]
    [InlineData("db_1.example.com", "host 'db_1.example.com' has '_' in the label 'db_1'")]
    [InlineData("db.example.com\nx", "host 'db.example.com\\u000ax' contains whitespace or a control character")]
    public void Bad_mapping_hosts_are_discarded(string host, string message)
    {
        var m = Res.Tcp("m", 443, "up", host: host);

        var result = Res.Compile(m, Res.Host("any", "*", "cert"), Res.TlsSecret("cert"));

        result.AssertDiscarded(m, message);
        Assert.Equal(("mapping.host", "spec.host"), result.Diagnostics.Where(d => d.Resource == m.Ref).Select(d => (d.Code, d.Field)).Single());
    }

    [Fact]
    public void Mapping_host_is_lower_cased()
    {
        var m = Res.Tcp("m", 443, "up", host: "*.Example.COM");

        var route = Res.Compile(m, Res.Host("any", "*", "cert"), Res.TlsSecret("cert")).Listener(443).SniRoutes[0];

        Assert.Equal(("*.example.com", HostPatternKind.Wildcard), (route.Host.Text, route.Host.Kind));
    }
}
