using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

/// <summary>
/// metadata.name is a DNS-1123 subdomain and metadata.namespace a DNS-1123 label, as Kubernetes requires, for every kind
/// the gateway reads (docs/resource-model.md, "Names"); anything else makes the resource invalid, naming the field.
/// </summary>
public class NameTests
{
    public static TheoryData<string> ValidNames => new()
    {
        "a", "0", "db", "web-tls", "api.tls", "a1.b-2.c3", new string('a', 63), string.Join('.', Enumerable.Repeat(new string('b', 63), 3)) + "." + new string('c', 61),
    };

    public static TheoryData<string> InvalidNames => new()
    {
        "bad_name", "Upper", "-lead", "trail-", "a..b", ".a", "a.", "a b", "bad\nname", "tab\tname", "crlf\r\nname", "caf\u00e9",
        "esc\u001b[2Jname", "nel\u0085name", "rtl\u202ename", new string('a', 64), string.Join('.', Enumerable.Repeat(new string('b', 63), 4)),
    };

    public static TheoryData<string> InvalidNamespaces => new()
    {
        "bad_ns", "Default", "a.b", "-ns", "ns-", "bad\nns", new string('n', 64),
    };

    /// <summary>Every kind the gateway reads, as (apiVersion, kind, body below metadata).</summary>
    public static TheoryData<string, string, string> Kinds => new()
    {
        { "getambassador.io/v3alpha1", "TCPMapping", "spec: {port: 2222, service: up:22}" },
        { "getambassador.io/v2", "TCPMapping", "spec: {port: 2222, service: up:22}" },
        { "getambassador.io/v3alpha1", "Listener", "spec: {port: 8443, protocol: TLS, securityModel: XFP}" },
        { "getambassador.io/v3alpha1", "Host", "spec: {hostname: a.example.com}" },
        { "getambassador.io/v3alpha1", "TLSContext", "spec: {hosts: [a.example.com], secret: s}" },
        { "getambassador.io/v3alpha1", "KubernetesServiceResolver", "spec: {}" },
        { "getambassador.io/v3alpha1", "KubernetesEndpointResolver", "spec: {}" },
        { "getambassador.io/v3alpha1", "ConsulResolver", "spec: {address: consul:8500}" },
        { "v1", "Secret", "type: kubernetes.io/tls\nstringData: {tls.crt: C, tls.key: K}" },
    };

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void Kubernetes_names_load(string name)
    {
        Assert.True(ResourceNames.IsDnsSubdomain(name));
        var mapping = LoaderAssert.Single<TcpMapping>(Document("getambassador.io/v3alpha1", "TCPMapping", name, null, "spec: {port: 1, service: x}"));
        Assert.Equal(name, mapping.Name);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void Any_other_name_makes_the_resource_invalid_with_an_escaped_message_on_its_line(string name)
    {
        Assert.False(ResourceNames.IsDnsSubdomain(name));
        var invalid = LoaderAssert.Invalid(Document("getambassador.io/v3alpha1", "TCPMapping", name, null, "spec: {port: 1, service: x}"));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal((DiagnosticCodes.FieldName, "metadata.name"), (error.Code, error.Field));
        Assert.Equal(5, error.Source!.Line);
        Assert.Contains("DNS-1123 subdomain", error.Message, StringComparison.Ordinal);
        AssertOneLine(error.Message);
    }

    [Theory]
    [MemberData(nameof(InvalidNamespaces))]
    public void A_namespace_must_be_a_DNS_label(string ns)
    {
        Assert.False(ResourceNames.IsDnsLabel(ns));
        var invalid = LoaderAssert.Invalid(Document("getambassador.io/v3alpha1", "TCPMapping", "ok", ns, "spec: {port: 1, service: x}"));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal((DiagnosticCodes.FieldName, "metadata.namespace"), (error.Code, error.Field));
        Assert.Equal(6, error.Source!.Line);
        Assert.Contains("DNS-1123 label", error.Message, StringComparison.Ordinal);
        AssertOneLine(error.Message);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_is_checked(string apiVersion, string kind, string body)
    {
        Assert.Empty(LoaderAssert.Parse(Document(apiVersion, kind, "good", "team-a", body)).Diagnostics.Where(d => d.Severity == Severity.Error));

        var badName = LoaderAssert.Invalid(Document(apiVersion, kind, "bad_name", null, body));
        Assert.Equal(kind, badName.OriginalKind);
        Assert.Contains(badName.Errors, e => e.Field == "metadata.name");

        var badNamespace = LoaderAssert.Invalid(Document(apiVersion, kind, "good", "bad_ns", body));
        Assert.Contains(badNamespace.Errors, e => e.Field == "metadata.namespace");
    }

    [Fact]
    public void The_ambassador_Module_is_checked_for_its_namespace()
    {
        var invalid = LoaderAssert.Invalid(Document("getambassador.io/v3alpha1", "Module", "ambassador", "Bad_NS", "spec: {config: {}}"));
        Assert.Contains(invalid.Errors, e => e.Field == "metadata.namespace");
    }

    [Fact]
    public void A_kind_the_gateway_does_not_read_keeps_its_name_unchecked()
    {
        var result = LoaderAssert.Parse(Document("v1", "ConfigMap", "Not_Ours", null, "data: {}"));

        Assert.IsType<ForeignResource>(Assert.Single(result.Resources));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Severity.Error);
    }

    [Fact]
    public void The_name_and_the_namespace_are_reported_together_with_the_other_errors()
    {
        var invalid = LoaderAssert.Invalid(Document("getambassador.io/v3alpha1", "TCPMapping", "Bad", "Bad", "spec: {port: seventy, service: x}"));

        Assert.Equal(["metadata.name", "metadata.namespace", "spec.port"], invalid.Errors.Select(e => e.Field).Order(StringComparer.Ordinal));
    }

    private static void AssertOneLine(string message) =>
        Assert.DoesNotContain(message, c => char.IsControl(c) || c is '\u2028' or '\u2029' or (>= '\u202a' and <= '\u202e'));

    /// <summary>The name (line 5) and namespace (line 6) as JSON strings, so any character gets through YAML.</summary>
    private static string Document(string apiVersion, string kind, string name, string? ns, string body) =>
        $"""
        # names are quoted as JSON strings
        apiVersion: {apiVersion}
        kind: {kind}
        metadata:
          name: {System.Text.Json.JsonSerializer.Serialize(name)}
        {(ns is null ? "" : "  namespace: " + System.Text.Json.JsonSerializer.Serialize(ns))}
        {body}
        """;
}
