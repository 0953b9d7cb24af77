using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

/// <summary>A known kind with a bad field becomes an InvalidResource whose errors name the exact field and line.</summary>
public class FieldErrorTests
{
    // Spec lines start at line 6 of LoaderAssert.TcpMapping's document.
    [Theory]
    [InlineData("port: abc\nservice: a", "spec.port", DiagnosticCodes.FieldType, 6, "expected an integer 1..65535, found 'abc'")]
    [InlineData("port: 0\nservice: a", "spec.port", DiagnosticCodes.FieldRange, 6, "expected an integer 1..65535, found 0")]
    [InlineData("port: 65536\nservice: a", "spec.port", DiagnosticCodes.FieldRange, 6, "found 65536")]
    [InlineData("port: '70000'\nservice: a", "spec.port", DiagnosticCodes.FieldRange, 6, "found 70000")]
    [InlineData("port: 22.5\nservice: a", "spec.port", DiagnosticCodes.FieldType, 6, "found '22.5'")]
    [InlineData("port: [1]\nservice: a", "spec.port", DiagnosticCodes.FieldType, 6, "found a list")]
    [InlineData("service: a", "spec.port", DiagnosticCodes.FieldRequired, 6, "spec.port is required")]
    [InlineData("port: 1", "spec.service", DiagnosticCodes.FieldRequired, 6, "spec.service is required")]
    [InlineData("port: 1\nservice: ''", "spec.service", DiagnosticCodes.FieldRequired, 6, "found an empty string")]
    [InlineData("port: 1\nservice: {a: b}", "spec.service", DiagnosticCodes.FieldType, 7, "expected a string, found a mapping")]
    [InlineData("port: 1\nservice: a\nweight: -5", "spec.weight", DiagnosticCodes.FieldRange, 8, "expected an integer >= 0, found -5")]
    [InlineData("port: 1\nservice: a\nweight: '5'", "spec.weight", DiagnosticCodes.FieldType, 8, "without quotes")]
    [InlineData("port: 1\nservice: a\nenable_ipv4: maybe", "spec.enable_ipv4", DiagnosticCodes.FieldType, 8, "expected true or false, found 'maybe'")]
    [InlineData("port: 1\nservice: a\nenable_ipv6: 'true'", "spec.enable_ipv6", DiagnosticCodes.FieldType, 8, "quoted string 'true'")]
    [InlineData("port: 1\nservice: a\nidle_timeout_ms: soon", "spec.idle_timeout_ms", DiagnosticCodes.FieldType, 8, "expected an integer >= 0")]
    [InlineData("port: 1\nservice: a\nconnect_timeout_ms: -1", "spec.connect_timeout_ms", DiagnosticCodes.FieldRange, 8, "found -1")]
    [InlineData("port: 1\nservice: a\ncircuit_breakers: {max_connections: 1}", "spec.circuit_breakers", DiagnosticCodes.FieldType, 8, "found a mapping")]
    [InlineData("port: 1\nservice: a\ncircuit_breakers:\n- max_connections: 1\n- max_connections: many", "spec.circuit_breakers[1].max_connections", DiagnosticCodes.FieldType, 10, "found 'many'")]
    [InlineData("port: 1\nservice: a\ncircuit_breakers:\n- max_retries: -1", "spec.circuit_breakers[0].max_retries", DiagnosticCodes.FieldRange, 9, "found -1")]
    [InlineData("port: 1\nservice: a\ncircuit_breakers: [7]", "spec.circuit_breakers[0]", DiagnosticCodes.FieldType, 8, "found '7'")]
    [InlineData("port: 1\nservice: a\nambassador_id: {a: 1}", "spec.ambassador_id", DiagnosticCodes.FieldType, 8, "found a mapping")]
    [InlineData("port: 1\nservice: a\nambassador_id: [a, [b]]", "spec.ambassador_id[1]", DiagnosticCodes.FieldType, 8, "found a list")]
    public void Bad_tcpmapping_field(string spec, string field, string code, int line, string message)
    {
        var invalid = LoaderAssert.Invalid(LoaderAssert.TcpMapping(spec));

        var error = Assert.Single(invalid.Errors);
        Assert.Equal(field, error.Field);
        Assert.Equal(code, error.Code);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, line), error.Source);
        Assert.Contains(message, error.Message);
        Assert.Equal("TCPMapping", invalid.Kind);
        Assert.Equal("m", invalid.Name);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, 1), invalid.Source);
    }

    [Fact]
    public void Every_problem_of_a_resource_is_reported_at_once()
    {
        var invalid = LoaderAssert.Invalid(LoaderAssert.TcpMapping("port: x\nweight: -1\nenable_ipv4: 1"));

        Assert.Equal(
            ["spec.port", "spec.weight", "spec.enable_ipv4", "spec.service"],
            invalid.Errors.Select(e => e.Field!).ToArray());
    }

    [Fact]
    public void An_invalid_resource_keeps_its_identity_labels_and_ambassador_id()
    {
        var invalid = LoaderAssert.Invalid("apiVersion: getambassador.io/v2\nkind: TCPMapping\nmetadata: {name: m, namespace: t, labels: {a: b}}\nspec: {port: 0, service: s, ambassador_id: edge}\n");

        Assert.Equal(new ResourceRef("TCPMapping", "t", "m"), invalid.Ref);
        Assert.Equal("getambassador.io/v2", invalid.ApiVersion);
        Assert.Equal("b", invalid.Labels["a"]);
        Assert.Equal(["edge"], invalid.AmbassadorId.ToArray());
    }

    [Fact]
    public void Missing_spec_reports_both_required_fields_at_the_document()
    {
        var invalid = LoaderAssert.Invalid("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {name: m, namespace: ns}\n");

        Assert.Equal(["spec.port", "spec.service"], invalid.Errors.Select(e => e.Field!).ToArray());
        Assert.All(invalid.Errors, e => Assert.Equal(1, e.Source!.Line));
        Assert.Equal("ns", invalid.Namespace);
    }

    [Fact]
    public void A_spec_that_is_not_a_mapping_is_a_type_error()
    {
        var invalid = LoaderAssert.Invalid("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {name: m}\nspec: [1]\n");

        Assert.Equal("spec", invalid.Errors[0].Field);
        Assert.Equal(DiagnosticCodes.FieldType, invalid.Errors[0].Code);
    }

    [Fact]
    public void Bad_labels_are_an_error_on_the_resource()
    {
        var invalid = LoaderAssert.Invalid("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata:\n  name: m\n  labels: [a]\nspec: {port: 1, service: a}\n");

        var error = Assert.Single(invalid.Errors);
        Assert.Equal("metadata.labels", error.Field);
        Assert.Equal(5, error.Source!.Line);
    }

    [Fact]
    public void Errors_point_at_the_document_index_and_absolute_line()
    {
        var yaml = LoaderAssert.TcpMapping("port: 1\nservice: a", "first") + "\n---\n" + LoaderAssert.TcpMapping("port: nope\nservice: a", "second");

        var result = LoaderAssert.Parse(yaml);

        Assert.IsType<TcpMapping>(result.Resources[0]);
        var invalid = Assert.IsType<InvalidResource>(result.Resources[1]);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 1, 9), invalid.Source);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 1, 14), Assert.Single(invalid.Errors).Source);
    }
}
