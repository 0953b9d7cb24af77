using System.Collections.Immutable;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests;

/// <summary>
/// Each YAML example of the specification, Emissary's TCPMapping documentation page (examples/spec/), loaded as
/// written and compiled; the assertions are what the page's prose says the example does.
/// </summary>
public sealed class SpecExamplesTests
{
    // The spec's examples name Secrets it never shows; these stand in for them. The compiler only needs them to
    // exist (the data plane reads the PEM).
    private const string Secrets = """
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: supersecret
        type: kubernetes.io/tls
        stringData:
          tls.crt: "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n"
          tls.key: "-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----\n"
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: othersecret
        type: kubernetes.io/tls
        stringData:
          tls.crt: "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n"
          tls.key: "-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----\n"
        """;

    private static CompileResult Compile(string yaml)
    {
        var loaded = ResourceLoader.Parse(yaml + "\n" + Secrets, "example.yaml");
        Assert.DoesNotContain(loaded.Diagnostics, d => d.Severity == Severity.Error);
        var result = GatewayCompiler.Compile(new CompileInput(loaded.Resources, "default"));
        Assert.All(result.Statuses, s => Assert.True(s.State == ResourceState.Accepted, $"{s.Resource}: {s.State} {string.Join("; ", s.Messages)}"));
        return result;
    }

    private static UpstreamPlan Single(RoutePlan? route)
    {
        Assert.NotNull(route);
        var upstream = Assert.Single(route.Upstreams);
        Assert.Equal(100, upstream.Share);
        return upstream;
    }

    [Fact]
    public void Ssh_relay_on_2222_neither_terminates_nor_originates()
    {
        var result = Compile("""
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  ssh
            spec:
              port: 2222
              service: upstream:22
            """);

        var listener = Assert.Single(result.Plan.Listeners);
        Assert.Equal(new ListenerEndpoint("0.0.0.0", 2222), listener.Endpoint);
        Assert.False(listener.TlsInspected);
        Assert.Empty(listener.SniRoutes);
        var upstream = Single(listener.CatchAll);
        Assert.Equal(("upstream", 22, false), (upstream.Target.Host, upstream.Target.Port, upstream.Target.IsIpLiteral));
        Assert.Null(upstream.Origination);
    }

    [Fact]
    public void Cockroach_relay_on_26257()
    {
        var result = Compile("""
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  cockroach
            spec:
              port: 26257
              service: cockroach:26257
            """);

        var listener = Assert.Single(result.Plan.Listeners);
        Assert.Equal(26257, listener.Endpoint.Port);
        Assert.False(listener.TlsInspected);
        var upstream = Single(listener.CatchAll);
        Assert.Equal("cockroach", upstream.Target.Host);
        Assert.Equal(26257, upstream.Target.Port);
        Assert.Null(upstream.Origination);
    }

    [Fact]
    public void Terminating_but_not_originating_routes_each_sni_host_to_its_upstream()
    {
        var result = Compile("""
            ---
            apiVersion: getambassador.io/v3alpha1
            kind:  TLSContext
            metadata:
              name:  my-context
            spec:
              hosts:
              - my-host-1
              - my-host-2
              secret: supersecret
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  my-host-1
            spec:
              port: 2222
              host: my-host-1
              service: upstream-host-1:9999
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  my-host-2
            spec:
              port: 2222
              host: my-host-2
              service: upstream-host-2:9999
            """);

        var listener = Assert.Single(result.Plan.Listeners);
        Assert.Equal(2222, listener.Endpoint.Port);
        Assert.True(listener.TlsInspected);
        // "Any other SNI host will cause the TLS handshake to fail": nothing takes unmatched connections.
        Assert.Null(listener.CatchAll);
        Assert.Equal(["my-host-1", "my-host-2"], listener.SniRoutes.Select(r => r.Host.Text).Order().ToArray());

        foreach (var (host, upstreamHost) in new[] { ("my-host-1", "upstream-host-1"), ("my-host-2", "upstream-host-2") })
        {
            var route = listener.SniRoutes.Single(r => r.Host.Text == host);
            Assert.Equal(HostPatternKind.Exact, route.Host.Kind);
            Assert.Equal(new ResourceRef("TLSContext", "default", "my-context"), route.Termination!.CertificateSource);
            Assert.Equal(new SecretRef("default", "supersecret"), route.Termination!.Certificate);
            var upstream = Single(route.Route);
            Assert.Equal(upstreamHost, upstream.Target.Host);
            Assert.Equal(9999, upstream.Target.Port);
            Assert.Null(upstream.Origination);
        }
    }

    [Fact]
    public void Terminating_and_originating_with_and_without_a_client_certificate()
    {
        var result = Compile("""
            ---
            apiVersion: getambassador.io/v3alpha1
            kind:  TLSContext
            metadata:
              name:  my-context
            spec:
              hosts:
              - my-host-1
              - my-host-2
              secret: supersecret
            ---
            apiVersion: getambassador.io/v3alpha1
            kind:  TLSContext
            metadata:
              name:  origination-context
            spec:
              secret: othersecret
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  test-1
            spec:
              port: 2222
              host: my-host-1
              service: https://upstream-host-1:9999
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  test-2
            spec:
              port: 2222
              host: my-host-2
              tls: origination-context
              service: https://upstream-host-2:9999
            """);

        var listener = Assert.Single(result.Plan.Listeners);
        Assert.True(listener.TlsInspected);
        Assert.Null(listener.CatchAll);

        var plain = Single(listener.SniRoutes.Single(r => r.Host.Text == "my-host-1").Route);
        Assert.Equal(("upstream-host-1", 9999), (plain.Target.Host, plain.Target.Port));
        Assert.NotNull(plain.Origination);
        Assert.Null(plain.Origination.ClientCertificate);   // "No client certificate will be offered"
        Assert.Null(plain.Origination.Context);

        var withCert = Single(listener.SniRoutes.Single(r => r.Host.Text == "my-host-2").Route);
        Assert.Equal(("upstream-host-2", 9999), (withCert.Target.Host, withCert.Target.Port));
        Assert.NotNull(withCert.Origination);
        Assert.Equal(new SecretRef("default", "othersecret"), withCert.Origination.ClientCertificate);
        Assert.Equal(new ResourceRef("TLSContext", "default", "origination-context"), withCert.Origination.Context);
    }

    [Fact]
    public void Originating_but_not_terminating_accepts_anything_and_dials_tls_without_a_client_certificate()
    {
        var result = Compile("""
            ---
            apiVersion: getambassador.io/v3alpha1
            kind:  TLSContext
            metadata:
              name:  origination-context
            spec:
              secret: othersecret
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name:  test
            spec:
              port: 2222
              service: https://upstream-host:9999
            """);

        var listener = Assert.Single(result.Plan.Listeners);
        Assert.False(listener.TlsInspected);
        var upstream = Single(listener.CatchAll);
        Assert.Equal(("upstream-host", 9999), (upstream.Target.Host, upstream.Target.Port));
        Assert.NotNull(upstream.Origination);
        Assert.Null(upstream.Origination.ClientCertificate);
    }

    [Fact]
    public void A_directory_with_one_broken_document_still_accepts_the_good_ones()
    {
        var loaded = ResourceLoader.Parse("""
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name: good
            spec:
              port: 2222
              service: upstream:22
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata:
              name: bad
            spec:
              port: not-a-port
              service: upstream:23
            """, "mixed.yaml");
        var result = GatewayCompiler.Compile(new CompileInput(loaded.Resources, "default"));

        var good = result.Statuses.Single(s => s.Resource.Name == "good");
        var bad = result.Statuses.Single(s => s.Resource.Name == "bad");
        Assert.Equal(ResourceState.Accepted, good.State);
        Assert.Equal(ResourceState.Discarded, bad.State);
        Assert.Contains(bad.Messages, m => m.Contains("spec.port", StringComparison.Ordinal) || m.Contains("port", StringComparison.Ordinal));
        Assert.Equal(1, bad.Source?.DocumentIndex);
        Assert.Equal(2222, Assert.Single(result.Plan.Listeners).Endpoint.Port);
    }
}
