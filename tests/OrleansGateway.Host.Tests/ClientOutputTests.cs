using System.Text.Json;
using OrleansGateway.Cli.Client;
using OrleansGateway.Cli.Commands;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Host.Tests;

/// <summary>The client's text forms that need no gateway: <c>-o yaml</c>, and a refused apply's problem read into diagnostic lines.</summary>
public sealed class ClientOutputTests
{
    [Fact]
    public void Yaml_output_reads_back_as_the_same_values_even_for_strings_that_look_like_other_types()
    {
        const string Json = """
            {"name": "true", "port": 7000, "portText": "7000", "empty": "", "colon": "a: b", "hash": "x #y", "tilde": "~",
             "quote": "it's \"q\"", "multi": "line1\nline2", "null": null, "flag": false, "emptyList": [], "emptyMap": {},
             "listeners": [{"address": "0.0.0.0", "routes": ["*", "demo.localhost"], "edges": [{"edge": "e1", "bound": true}]}],
             "nested": [[1, 2], ["-"]]}
            """;
        using var json = JsonDocument.Parse(Json);
        var text = new StringWriter();

        YamlWriter.Write(json.RootElement, text);

        var yaml = new YamlStream();
        yaml.Load(new StringReader(text.ToString()));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        Assert.Equal(("true", true), Quoted(root, "name"));
        Assert.Equal(("7000", false), Quoted(root, "port"));
        Assert.Equal(("7000", true), Quoted(root, "portText"));
        foreach (var key in new[] { "empty", "colon", "hash", "tilde", "quote", "multi" })
        {
            Assert.Equal(json.RootElement.GetProperty(key).GetString(), ((YamlScalarNode)root[key]).Value);
        }

        Assert.Equal(("null", false), Quoted(root, "null"));
        Assert.Empty(((YamlSequenceNode)root["emptyList"]).Children);
        Assert.Empty(((YamlMappingNode)root["emptyMap"]).Children);
        var listener = (YamlMappingNode)((YamlSequenceNode)root["listeners"])[0];
        Assert.Equal(["*", "demo.localhost"], ((YamlSequenceNode)listener["routes"]).Children.Select(r => ((YamlScalarNode)r).Value));
        Assert.Equal("e1", ((YamlScalarNode)((YamlMappingNode)((YamlSequenceNode)listener["edges"])[0])["edge"]).Value);
        Assert.Equal("2", ((YamlScalarNode)((YamlSequenceNode)((YamlSequenceNode)root["nested"])[0])[1]).Value);
        Assert.Equal("-", ((YamlScalarNode)((YamlSequenceNode)((YamlSequenceNode)root["nested"])[1])[0]).Value);
    }

    [Theory]
    [InlineData("TCPMapping default/db", "spec.port", "expected an integer", "error: a.yaml: document 1 (line 9): TCPMapping 'db' (namespace default): spec.port: expected an integer")]
    [InlineData("TCPMapping default/db", "spec.port", "TCPMapping 'db' (namespace default) discarded: spec.port: x", "error: a.yaml: document 1 (line 9): TCPMapping 'db' (namespace default) discarded: spec.port: x")]
    [InlineData(null, null, "mapping values are not allowed here", "error: a.yaml: document 1 (line 9): mapping values are not allowed here")]
    public void A_diagnostic_line_names_file_document_line_resource_and_field_once(string? resource, string? field, string message, string expected)
    {
        // As a refused apply's problem carries it (docs/api.md, Errors).
        var problem = JsonSerializer.Serialize(new
        {
            status = 422,
            title = "refused",
            diagnostics = new[] { new { severity = "error", code = "c", message, file = "a.yaml", document = 1, line = 9, field, resource } },
        });

        var diagnostic = Assert.Single(Problem.From(new ApiResponse(System.Net.HttpStatusCode.UnprocessableEntity, problem)).Diagnostics);

        Assert.Equal(expected, DiagnosticText.Line(diagnostic));
    }

    private static (string Value, bool Quoted) Quoted(YamlMappingNode map, string key)
    {
        var scalar = (YamlScalarNode)map[key];
        return (scalar.Value!, scalar.Style is YamlDotNet.Core.ScalarStyle.DoubleQuoted or YamlDotNet.Core.ScalarStyle.SingleQuoted);
    }
}
