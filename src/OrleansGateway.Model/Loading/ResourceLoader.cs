using System.Collections.Immutable;
using OrleansGateway.Model.Loading;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model;

/// <summary>Resources read from files, and every diagnostic about them (never an exception).</summary>
/// <remarks>
/// <see cref="Diagnostics"/> holds everything in file order, including the errors that made a resource an
/// <see cref="InvalidResource"/> (those are also in its <see cref="InvalidResource.Errors"/>).
/// </remarks>
public sealed record LoadResult(ImmutableArray<Resource> Resources, ImmutableArray<Diagnostic> Diagnostics)
{
    public static readonly LoadResult Empty = new([], []);
}

/// <summary>Reads Emissary resources and Kubernetes TLS Secrets from multi-document YAML or JSON.</summary>
public static class ResourceLoader
{
    /// <summary>Parses one file's text. <paramref name="file"/> is only used in diagnostics and <see cref="SourceLocation"/>.</summary>
    public static LoadResult Parse(string text, string file)
    {
        var resources = new List<Resource>();
        var diagnostics = new List<Diagnostic>();
        ParseInto(text, file, resources, diagnostics);
        return new LoadResult([.. resources], [.. diagnostics]);
    }

    /// <summary>
    /// Loads a file, or every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> file under a directory (recursively, in
    /// ordinal order of relative path, skipping names that start with a dot). I/O errors become diagnostics.
    /// </summary>
    public static LoadResult LoadPath(string path)
    {
        var resources = new List<Resource>();
        var diagnostics = new List<Diagnostic>();
        foreach (var file in FileWalker.Files(path, diagnostics))
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                diagnostics.Add(new Diagnostic(Severity.Error, LoaderCodes.IoError, $"cannot read '{file}': {ex.Message}"));
                continue;
            }

            ParseInto(text, file, resources, diagnostics);
        }

        return new LoadResult([.. resources], [.. diagnostics]);
    }

    private static void ParseInto(string text, string file, List<Resource> resources, List<Diagnostic> diagnostics)
    {
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var documentIndex = 0;
        foreach (var chunk in DocumentSplitter.Split(text))
        {
            var stream = new YamlStream();
            Exception? failure = null;
            try
            {
                stream.Load(new StringReader(text.Substring(chunk.Start, chunk.Length)));
            }
            catch (Exception ex)
            {
                // Any exception out of the parser is about this input (YamlException for syntax, others from
                // parser corner cases); the documents parsed before it are kept and the other chunks still load.
                failure = ex;
            }

            foreach (var document in stream.Documents)
            {
                var context = new DocumentContext(file, documentIndex++, chunk.FirstLine - 1, diagnostics);
                DocumentReader.Read(document.RootNode, context, resources);
            }

            if (failure is not null)
            {
                diagnostics.Add(SyntaxError(failure, file, documentIndex++, chunk.FirstLine));
            }
        }
    }

    private static Diagnostic SyntaxError(Exception failure, string file, int documentIndex, int chunkLine)
    {
        var (line, column) = failure is YamlException { Start.Line: > 0 } yaml
            ? ((int)yaml.Start.Line + chunkLine - 1, (int)yaml.Start.Column)
            : (chunkLine, 1);
        return new Diagnostic(
            Severity.Error,
            LoaderCodes.YamlSyntax,
            $"malformed YAML at line {line}, column {column}: {failure.Message.TrimEnd('.')}; this document was skipped, the others are still read",
            Source: new SourceLocation(file, documentIndex, line));
    }
}
