using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Loading;

/// <summary>Small helpers shared by the loader tests.</summary>
internal static class LoaderAssert
{
    public const string File = "test.yaml";

    public static LoadResult Parse(string yaml) => ResourceLoader.Parse(yaml, File);

    /// <summary>Parses a file that must yield exactly one resource of type <typeparamref name="T"/> and no error or warning.</summary>
    public static T Single<T>(string yaml)
        where T : Resource
    {
        var result = Parse(yaml);
        Assert.Empty(result.Diagnostics.Where(d => d.Severity != Severity.Info));
        return Assert.IsType<T>(Assert.Single(result.Resources));
    }

    /// <summary>Parses a file that must yield one InvalidResource, and returns its errors.</summary>
    public static InvalidResource Invalid(string yaml)
    {
        var result = Parse(yaml);
        var invalid = Assert.IsType<InvalidResource>(Assert.Single(result.Resources));
        Assert.NotEmpty(invalid.Errors);
        foreach (var error in invalid.Errors)
        {
            Assert.Equal(Severity.Error, error.Severity);
            Assert.Equal(invalid.Ref, error.Resource);
            Assert.NotNull(error.Source);
            Assert.NotNull(error.Field);
            Assert.Contains(error, result.Diagnostics);
        }

        return invalid;
    }

    /// <summary>A TCPMapping document with the given spec lines (indented by the caller's text, two spaces added).</summary>
    public static string TcpMapping(string specLines, string name = "m", string apiVersion = "getambassador.io/v3alpha1") =>
        $"""
        apiVersion: {apiVersion}
        kind: TCPMapping
        metadata:
          name: {name}
        spec:
        {Indent(specLines)}
        """;

    public static string Indent(string lines) =>
        string.Join('\n', lines.Split('\n').Select(l => "  " + l));
}
