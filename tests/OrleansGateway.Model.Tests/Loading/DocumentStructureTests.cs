using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

/// <summary>How files are cut into documents and documents into resources, and what happens to documents that are not resources.</summary>
public class DocumentStructureTests
{
    private static string Mapping(string name) => LoaderAssert.TcpMapping("port: 1\nservice: a", name);

    [Fact]
    public void Multi_document_yaml_skips_empty_documents_and_counts_them()
    {
        var yaml = "# leading comment\n---\n" + Mapping("a") + "\n---\n---\n# nothing here\n---\n" + Mapping("b") + "\n...\n";

        var result = LoaderAssert.Parse(yaml);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(["a", "b"], result.Resources.Select(r => r.Name).ToArray());
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, 3), result.Resources[0].Source);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 3, 14), result.Resources[1].Source);
    }

    [Fact]
    public void Json_object()
    {
        var json = """{"apiVersion":"getambassador.io/v3alpha1","kind":"TCPMapping","metadata":{"name":"j"},"spec":{"port":2222,"service":"up:22"}}""";

        var mapping = LoaderAssert.Single<TcpMapping>(json);

        Assert.Equal(("j", 2222, "up:22"), (mapping.Name, mapping.Port, mapping.Service));
    }

    [Fact]
    public void Json_array_with_tabs_yields_every_item_with_its_line()
    {
        var json = "[\n\t{\"apiVersion\": \"getambassador.io/v3alpha1\", \"kind\": \"TCPMapping\",\n\t \"metadata\": {\"name\": \"a\"}, \"spec\": {\"port\": \"1\", \"service\": \"x\"}},\n" +
                   "\t{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s\"}, \"stringData\": {\"tls.crt\": \"C\"}}\n]";

        var result = LoaderAssert.Parse(json);

        Assert.Empty(result.Diagnostics);
        Assert.IsType<TcpMapping>(result.Resources[0]);
        Assert.IsType<SecretResource>(result.Resources[1]);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, 2), result.Resources[0].Source);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, 4), result.Resources[1].Source);
    }

    [Fact]
    public void Kubectl_list_yields_each_item()
    {
        var yaml = """
            apiVersion: v1
            kind: List
            metadata: {resourceVersion: ""}
            items:
            - apiVersion: getambassador.io/v3alpha1
              kind: TCPMapping
              metadata: {name: a}
              spec: {port: 1, service: x}
            - kind: TCPMapping
              metadata: {name: b}
            - apiVersion: getambassador.io/v3alpha1
              kind: Listener
              metadata: {name: l}
              spec: {port: 1}
            """;

        var result = LoaderAssert.Parse(yaml);

        Assert.Equal(["a", "l"], result.Resources.Select(r => r.Name).ToArray());
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((DiagnosticCodes.ApiVersionMissing, "items[1].apiVersion"), (error.Code, error.Field));
        Assert.Equal(new SourceLocation(LoaderAssert.File, 0, 9), error.Source);
        Assert.StartsWith("items[1]: apiVersion is missing", error.Message);
    }

    [Fact]
    public void Json_list()
    {
        var json = """{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"getambassador.io/v2","kind":"Host","metadata":{"name":"h"},"spec":{"hostname":"a"}}]}""";

        Assert.Equal("a", LoaderAssert.Single<HostResource>(json).Hostname);
    }

    [Theory]
    [InlineData("apiVersion: getambassador.io/v3alpha1\nmetadata: {name: m}\n", DiagnosticCodes.KindMissing, "kind is missing", 1)]
    [InlineData("kind: TCPMapping\nmetadata: {name: m}\n", DiagnosticCodes.ApiVersionMissing, "apiVersion is missing", 1)]
    [InlineData("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nspec: {port: 1}\n", DiagnosticCodes.NameMissing, "metadata.name is missing", 1)]
    [InlineData("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata:\n  namespace: x\n", DiagnosticCodes.NameMissing, "metadata.name is missing", 4)]
    [InlineData("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {name: ''}\n", DiagnosticCodes.NameMissing, "must be a non-empty string", 3)]
    [InlineData("apiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: [a]\n", DiagnosticCodes.NameMissing, "metadata must be a mapping", 3)]
    [InlineData("apiVersion: getambassador.io/v3alpha1\nkind: [TCPMapping]\nmetadata: {name: m}\n", DiagnosticCodes.KindMissing, "kind must be a non-empty string, found a list", 2)]
    [InlineData("apiVersion: ''\nkind: TCPMapping\nmetadata: {name: m}\n", DiagnosticCodes.ApiVersionMissing, "apiVersion must be a non-empty string, found the quoted string ''", 1)]
    [InlineData("just a string\n", DiagnosticCodes.DocumentNotMapping, "found 'just a string'", 1)]
    public void Documents_that_are_not_resources_are_errors_without_a_resource(string yaml, string code, string message, int line)
    {
        var result = LoaderAssert.Parse("---\n" + Mapping("ok") + "\n---\n" + yaml);

        Assert.Equal("ok", Assert.Single(result.Resources).Name);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Error, code), (error.Severity, error.Code));
        Assert.Null(error.Resource);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 1, line + 9), error.Source);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_broken_document_does_not_hide_the_others()
    {
        var yaml = Mapping("a") + "\n---\napiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {name: broken\nspec: {}\n---\n" + Mapping("c");

        var result = LoaderAssert.Parse(yaml);

        Assert.Equal(["a", "c"], result.Resources.Select(r => r.Name).ToArray());
        Assert.Equal(2, result.Resources[1].Source!.DocumentIndex);
        Assert.Equal(14, result.Resources[1].Source!.Line);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal((Severity.Error, DiagnosticCodes.YamlSyntax), (error.Severity, error.Code));
        Assert.Equal(LoaderAssert.File, error.Source!.File);
        Assert.Equal(1, error.Source.DocumentIndex);
        Assert.Equal(11, error.Source.Line); // the line of the unclosed brace
        Assert.Contains($"line {error.Source.Line}", error.Message);
    }

    [Fact]
    public void Duplicate_keys_are_a_syntax_error_of_that_document()
    {
        var result = LoaderAssert.Parse(LoaderAssert.TcpMapping("port: 1\nport: 2\nservice: a") + "\n---\n" + Mapping("b"));

        Assert.Equal("b", Assert.Single(result.Resources).Name);
        Assert.Equal(DiagnosticCodes.YamlSyntax, Assert.Single(result.Diagnostics).Code);
        Assert.Contains("Duplicate key", result.Diagnostics[0].Message);
    }

    [Theory]
    [InlineData("Mapping", "getambassador.io/v3alpha1", Severity.Info, DiagnosticCodes.KindForeign, "kind Mapping is not handled by OrleansGateway (layer 4 only); ignored")]
    [InlineData("Service", "v1", Severity.Info, DiagnosticCodes.KindForeign, "kind Service (v1) is not handled by OrleansGateway; ignored")]
    [InlineData("Deployment", "apps/v1", Severity.Info, DiagnosticCodes.KindForeign, "ignored")]
    [InlineData("ConfigMap", "v1", Severity.Info, DiagnosticCodes.KindForeign, "ignored")]
    [InlineData("Secret", "v2", Severity.Info, DiagnosticCodes.KindForeign, "ignored")]
    [InlineData("TCPMapping", "getambassador.io/v4", Severity.Warning, DiagnosticCodes.KindApiVersion, "getambassador.io/v3alpha1")]
    [InlineData("TCPMapping", "x.getambassador.io/v3alpha1", Severity.Info, DiagnosticCodes.KindForeign, "ignored")]
    public void Foreign_kinds_are_kept_with_a_note(string kind, string apiVersion, Severity severity, string code, string message)
    {
        var result = LoaderAssert.Parse($"apiVersion: {apiVersion}\nkind: {kind}\nmetadata: {{name: f, namespace: n, labels: [not, read]}}\nspec: {{prefix: /}}\n");

        var foreign = Assert.IsType<ForeignResource>(Assert.Single(result.Resources));
        Assert.Equal(new ResourceRef(kind, "n", "f"), foreign.Ref);
        Assert.Equal(apiVersion, foreign.ApiVersion);
        var note = Assert.Single(result.Diagnostics);
        Assert.Equal((severity, code), (note.Severity, note.Code));
        Assert.Equal(foreign.Ref, note.Resource);
        Assert.Contains(message, note.Message);
    }

    [Fact]
    public void Annotation_style_apiversion_is_foreign_with_a_warning()
    {
        var result = LoaderAssert.Parse("apiVersion: ambassador/v2\nkind: TCPMapping\nname: old\nport: 1\nservice: a\n");

        Assert.Equal("old", Assert.IsType<ForeignResource>(Assert.Single(result.Resources)).Name);
        Assert.Equal(DiagnosticCodes.KindApiVersion, Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Crlf_line_endings_and_a_byte_order_mark_are_fine()
    {
        var yaml = "\uFEFF" + (Mapping("a") + "\n---\n" + Mapping("b")).Replace("\n", "\r\n");

        var result = LoaderAssert.Parse(yaml);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(9, result.Resources[1].Source!.Line);
    }

    [Fact]
    public void A_block_scalar_keeps_lines_that_only_look_like_markers()
    {
        var yaml = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n    ---\n    -----END CERTIFICATE-----\n";

        var secret = LoaderAssert.Single<SecretResource>(yaml);

        Assert.Equal("-----BEGIN CERTIFICATE-----\n---\n-----END CERTIFICATE-----\n", secret.TlsCrt);
    }

    [Fact]
    public void Directives_belong_to_the_document_after_them()
    {
        var result = LoaderAssert.Parse("%YAML 1.2\n---\n" + Mapping("a") + "\n---\n" + Mapping("b"));

        Assert.Empty(result.Diagnostics);
        Assert.Equal(new SourceLocation(LoaderAssert.File, 1, 11), result.Resources[1].Source);
    }

    [Fact]
    public void Empty_text_loads_nothing()
    {
        Assert.Empty(LoaderAssert.Parse("").Resources);
        Assert.Empty(LoaderAssert.Parse("  \n# c\n").Diagnostics);
    }
}
