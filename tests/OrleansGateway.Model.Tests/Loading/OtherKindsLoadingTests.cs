using System.Text;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

public class OtherKindsLoadingTests
{
    [Fact]
    public void Listener_every_field()
    {
        var listener = LoaderAssert.Single<ListenerResource>("""
            apiVersion: getambassador.io/v3alpha1
            kind: Listener
            metadata: {name: tls-8443, namespace: edge}
            spec:
              ambassador_id: [default]
              port: "8443"
              protocol: HTTPS
              protocolStack: [TLS, TCP]
              securityModel: SECURE
              hostBinding:
                namespace: {from: ALL}
              statsPrefix: ingress_tls
              l7Depth: 1
              http2MaxConcurrentStreams: 100
            """);

        Assert.Equal(8443, listener.Port);
        Assert.Equal("HTTPS", listener.Protocol);
        Assert.Equal(["TLS", "TCP"], listener.ProtocolStack!.Value.ToArray());
        Assert.Equal("SECURE", listener.SecurityModel);
        Assert.True(listener.HasHostBinding);
        Assert.Equal("ingress_tls", listener.StatsPrefix);
        Assert.Equal(1, listener.L7Depth);
        Assert.Equal(["default"], listener.AmbassadorId.ToArray());
    }

    [Fact]
    public void Listener_without_optional_fields()
    {
        var listener = LoaderAssert.Single<ListenerResource>("apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: l}\nspec: {port: 9000}\n");

        Assert.False(listener.HasHostBinding);
        Assert.Null(listener.ProtocolStack);
        Assert.Null(listener.SecurityModel);
    }

    [Theory]
    [InlineData("protocol: TCP", "spec.port", DiagnosticCodes.FieldRequired)]
    [InlineData("port: 1\nprotocolStack: TLS", "spec.protocolStack", DiagnosticCodes.FieldType)]
    [InlineData("port: 1\nhostBinding: yes", "spec.hostBinding", DiagnosticCodes.FieldType)]
    [InlineData("port: 1\nl7Depth: -1", "spec.l7Depth", DiagnosticCodes.FieldRange)]
    public void Listener_errors(string spec, string field, string code)
    {
        var invalid = LoaderAssert.Invalid($"apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {{name: l}}\nspec:\n{LoaderAssert.Indent(spec)}\n");

        var error = Assert.Single(invalid.Errors);
        Assert.Equal((field, code), (error.Field, error.Code));
    }

    [Fact]
    public void Host_every_field()
    {
        var host = LoaderAssert.Single<HostResource>("""
            apiVersion: getambassador.io/v3alpha1
            kind: Host
            metadata: {name: h}
            spec:
              hostname: "*.example.com"
              tlsSecret: {name: wildcard, namespace: certs}
              tlsContext: {name: ctx}
              tls:
                min_tls_version: v1.2
                max_tls_version: v1.3
                cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]
                ecdh_curves: [X25519, P-256]
                alpn_protocols: "h2, http/1.1"
                ca_secret: client-ca
                cert_required: true
                sni: upstream.example.com
              acmeProvider: {authority: none}
              requestPolicy: {insecure: {action: Redirect}}
              mappingSelector: {matchLabels: {a: b}}
              selector: {matchLabels: {a: b}}
              previewUrl: {enabled: false}
            """);

        Assert.Equal("*.example.com", host.Hostname);
        Assert.Equal("wildcard", host.TlsSecretName);
        Assert.Equal("certs", host.TlsSecretNamespace);
        Assert.Equal("ctx", host.TlsContextName);
        var tls = host.Tls!;
        Assert.Equal("v1.2", tls.MinTlsVersion);
        Assert.Equal("v1.3", tls.MaxTlsVersion);
        Assert.Equal(["ECDHE-RSA-AES128-GCM-SHA256"], tls.CipherSuites.ToArray());
        Assert.Equal(["X25519", "P-256"], tls.EcdhCurves.ToArray());
        Assert.Equal(["h2", "http/1.1"], tls.AlpnProtocols.ToArray());
        Assert.Equal("client-ca", tls.CaSecret);
        Assert.True(tls.CertRequired);
        Assert.Equal("upstream.example.com", tls.Sni);
    }

    [Fact]
    public void Host_without_tls_keeps_tls_null()
    {
        var host = LoaderAssert.Single<HostResource>("apiVersion: getambassador.io/v2\nkind: Host\nmetadata: {name: h}\nspec: {hostname: a.com}\n");

        Assert.Null(host.Tls);
        Assert.Null(host.TlsSecretName);
    }

    [Fact]
    public void Host_unknown_nested_fields_warn()
    {
        var result = LoaderAssert.Parse("apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: h}\nspec:\n  tlsSecret: {name: s, nmespace: x}\n  tls: {min_tls: v1.2}\n");

        Assert.IsType<HostResource>(Assert.Single(result.Resources));
        Assert.Equal(["spec.tlsSecret.nmespace", "spec.tls.min_tls"], result.Diagnostics.Select(d => d.Field!).ToArray());
        Assert.All(result.Diagnostics, d => Assert.Equal(DiagnosticCodes.FieldUnknown, d.Code));
    }

    [Fact]
    public void TlsContext_every_field()
    {
        var context = LoaderAssert.Single<TlsContextResource>("""
            apiVersion: getambassador.io/v3alpha1
            kind: TLSContext
            metadata: {name: ctx, namespace: n}
            spec:
              hosts: [a.example.com, "*.b.example.com"]
              secret: cert.other
              secret_namespacing: false
              ca_secret: ca
              cert_required: false
              min_tls_version: v1.2
              max_tls_version: v1.3
              cipher_suites: [A, B]
              ecdh_curves: [X25519]
              alpn_protocols: [" h2 ", "http/1.1"]
              sni: s.example.com
              redirect_cleartext_from: 8080
            """);

        Assert.Equal(["a.example.com", "*.b.example.com"], context.Hosts.ToArray());
        Assert.Equal("cert.other", context.Secret);
        Assert.False(context.SecretNamespacing);
        Assert.Equal("ca", context.Tls.CaSecret);
        Assert.False(context.Tls.CertRequired);
        Assert.Equal("v1.2", context.Tls.MinTlsVersion);
        Assert.Equal("v1.3", context.Tls.MaxTlsVersion);
        Assert.Equal(["A", "B"], context.Tls.CipherSuites.ToArray());
        Assert.Equal(["X25519"], context.Tls.EcdhCurves.ToArray());
        Assert.Equal(["h2", "http/1.1"], context.Tls.AlpnProtocols.ToArray());
        Assert.Equal("s.example.com", context.Tls.Sni);
    }

    [Theory]
    [InlineData("cert_chain_file")]
    [InlineData("private_key_file")]
    [InlineData("cacert_chain_file")]
    public void TlsContext_file_paths_are_an_error(string field)
    {
        var invalid = LoaderAssert.Invalid($"apiVersion: getambassador.io/v3alpha1\nkind: TLSContext\nmetadata: {{name: c}}\nspec:\n  {field}: /etc/certs/x.pem\n");

        var error = Assert.Single(invalid.Errors);
        Assert.Equal("spec." + field, error.Field);
        Assert.Equal(DiagnosticCodes.FieldUnsupported, error.Code);
        Assert.Contains("put the certificate in a Secret and use `secret:`", error.Message);
    }

    [Fact]
    public void Host_tls_file_paths_are_an_error_too()
    {
        var invalid = LoaderAssert.Invalid("apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: h}\nspec:\n  tls:\n    cert_chain_file: /c.pem\n");

        var error = Assert.Single(invalid.Errors);
        Assert.Equal(("spec.tls.cert_chain_file", DiagnosticCodes.FieldUnsupported, 6), (error.Field, error.Code, error.Source!.Line));
    }

    [Fact]
    public void TlsContext_crl_secret_warns_that_revocation_is_not_checked()
    {
        var result = LoaderAssert.Parse("apiVersion: getambassador.io/v3alpha1\nkind: TLSContext\nmetadata: {name: c}\nspec: {secret: s, crl_secret: crl}\n");

        Assert.IsType<TlsContextResource>(Assert.Single(result.Resources));
        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Warning, DiagnosticCodes.FieldUnsupported, "spec.crl_secret"), (warning.Severity, warning.Code, warning.Field));
    }

    [Fact]
    public void Module_ambassador_config()
    {
        var result = LoaderAssert.Parse("""
            apiVersion: getambassador.io/v3alpha1
            kind: Module
            metadata: {name: ambassador}
            spec:
              ambassador_id: edge
              config:
                enable_ipv4: false
                enable_ipv6: true
                circuit_breakers: [{max_connections: 5}]
                resolver: consul
                use_ambassador_namespace_for_service_resolution: true
                idle_timeout_ms: "30000"
                connect_timeout_ms: 2000
                use_remote_address: false
                diagnostics: {enabled: false}
            """);

        var module = Assert.IsType<ModuleResource>(Assert.Single(result.Resources));
        Assert.False(module.EnableIpv4);
        Assert.True(module.EnableIpv6);
        Assert.Equal(5, Assert.Single(module.CircuitBreakers!.Value).MaxConnections);
        Assert.Equal("consul", module.Resolver);
        Assert.True(module.UseAmbassadorNamespaceForServiceResolution);
        Assert.Equal(30000, module.IdleTimeoutMs);
        Assert.Equal(2000, module.ConnectTimeoutMs);
        Assert.Equal(["edge"], module.AmbassadorId.ToArray());
        var note = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Info, DiagnosticCodes.FieldNoEffect), (note.Severity, note.Code));
        Assert.Contains("use_remote_address, diagnostics", note.Message);
    }

    [Fact]
    public void Module_with_another_name_is_foreign()
    {
        var result = LoaderAssert.Parse("apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {name: tls}\nspec: {config: {server: {enabled: true}}}\n");

        var foreign = Assert.IsType<ForeignResource>(Assert.Single(result.Resources));
        Assert.Equal("Module", foreign.Kind);
        var note = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Info, DiagnosticCodes.KindForeign), (note.Severity, note.Code));
        Assert.Contains("only the Module named 'ambassador'", note.Message);
    }

    [Fact]
    public void Module_unknown_config_key_warns()
    {
        var result = LoaderAssert.Parse("apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {name: ambassador}\nspec: {config: {enable_ipv9: true}}\n");

        Assert.IsType<ModuleResource>(Assert.Single(result.Resources));
        Assert.Equal("spec.config.enable_ipv9", Assert.Single(result.Diagnostics).Field);
    }

    [Theory]
    [InlineData("KubernetesServiceResolver", ResolverKind.KubernetesService)]
    [InlineData("KubernetesEndpointResolver", ResolverKind.KubernetesEndpoint)]
    public void Kubernetes_resolvers(string kind, ResolverKind expected)
    {
        var resolver = LoaderAssert.Single<ResolverResource>($"apiVersion: getambassador.io/v3alpha1\nkind: {kind}\nmetadata: {{name: r}}\n");

        Assert.Equal(expected, resolver.ResolverKind);
        Assert.Equal(kind, resolver.Kind);
    }

    [Fact]
    public void Consul_resolver()
    {
        var resolver = LoaderAssert.Single<ResolverResource>("apiVersion: getambassador.io/v2\nkind: ConsulResolver\nmetadata: {name: consul}\nspec: {address: consul:8500, datacenter: dc2}\n");

        Assert.Equal(ResolverKind.Consul, resolver.ResolverKind);
        Assert.Equal("consul:8500", resolver.Address);
        Assert.Equal("dc2", resolver.Datacenter);
    }

    [Fact]
    public void Kubernetes_resolver_with_an_address_warns()
    {
        var result = LoaderAssert.Parse("apiVersion: getambassador.io/v3alpha1\nkind: KubernetesServiceResolver\nmetadata: {name: r}\nspec: {address: x}\n");

        Assert.Equal((DiagnosticCodes.FieldUnknown, "spec.address"), (Assert.Single(result.Diagnostics).Code, result.Diagnostics[0].Field));
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Secret_data_is_decoded_and_string_data_wins()
    {
        var secret = LoaderAssert.Single<SecretResource>($"""
            apiVersion: v1
            kind: Secret
            metadata: {"{"}name: cert, namespace: certs{"}"}
            type: kubernetes.io/tls
            data:
              tls.crt: {B64("CERT-FROM-DATA")}
              tls.key: {B64("KEY")}
              ca.crt: {B64("CA")}
              other: not base64 at all!
            stringData:
              tls.crt: CERT-FROM-STRINGDATA
            """);

        Assert.Equal("kubernetes.io/tls", secret.Type);
        Assert.Equal("CERT-FROM-STRINGDATA", secret.TlsCrt);
        Assert.Equal("KEY", secret.TlsKey);
        Assert.Equal("CA", secret.CaCrt);
        Assert.Equal("certs", secret.Namespace);
        Assert.Equal("v1", secret.ApiVersion);
    }

    [Fact]
    public void Secret_defaults_to_opaque_and_ignores_ambassador_id()
    {
        var secret = LoaderAssert.Single<SecretResource>("apiVersion: v1\nkind: Secret\nmetadata: {name: ca}\nstringData: {ca.crt: PEM}\nspec: {ambassador_id: other}\n");

        Assert.Equal("Opaque", secret.Type);
        Assert.Equal("PEM", secret.CaCrt);
        Assert.Null(secret.TlsCrt);
        Assert.Empty(secret.AmbassadorId);
    }

    [Theory]
    [InlineData("data: {tls.key: '@@@'}", "data.tls.key", "not valid base64")]
    [InlineData("data: {tls.crt: /w==}", "data.tls.crt", "binary data")]
    [InlineData("data: [a]", "data", "found a list")]
    [InlineData("stringData: {tls.crt: [a]}", "stringData.tls.crt", "found a list")]
    public void Secret_errors(string body, string field, string message)
    {
        var invalid = LoaderAssert.Invalid($"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\n{body}\n");

        var error = Assert.Single(invalid.Errors);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message);
        Assert.Equal("Secret", invalid.Kind);
    }
}
