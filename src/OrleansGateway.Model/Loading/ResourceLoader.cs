using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Resources;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

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
                diagnostics.Add(new Diagnostic(Severity.Error, DiagnosticCodes.IoError, $"cannot read '{file}': {ex.Message}"));
                continue;
            }

            ParseInto(text, file, resources, diagnostics);
        }

        return new LoadResult([.. resources], [.. diagnostics]);
    }

    /// <summary>Findings of one file after which the rest of it is not read: past that, more only cost memory.</summary>
    public const int MaxFileDiagnostics = 1_000;

    private static void ParseInto(string text, string file, List<Resource> resources, List<Diagnostic> diagnostics)
    {
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var documentIndex = 0;
        var count = new BoundedYamlParser.FileCount();
        var firstDiagnostic = diagnostics.Count;
        foreach (var chunk in DocumentSplitter.Split(text))
        {
            if (diagnostics.Count - firstDiagnostic >= MaxFileDiagnostics)
            {
                diagnostics.Add(new Diagnostic(Severity.Error, DiagnosticCodes.FileLimit,
                    $"more than {MaxFileDiagnostics} findings in '{file}': it is not read past line {chunk.FirstLine - 1}; fix the findings above and check it again",
                    Source: new SourceLocation(file, documentIndex, chunk.FirstLine)));
                return;
            }

            var stream = new YamlStream();
            Exception? failure = null;
            try
            {
                stream.Load(new BoundedYamlParser(new Parser(new StringReader(text.Substring(chunk.Start, chunk.Length))), count));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
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
                var whole = count.Nodes > BoundedYamlParser.MaxFileNodes;
                diagnostics.Add(SyntaxError(failure, text.Substring(chunk.Start, chunk.Length), file, documentIndex++, chunk.FirstLine,
                    whole ? DiagnosticCodes.FileLimit : DiagnosticCodes.YamlSyntax,
                    whole ? "the rest of the file is not read" : "this document was skipped, the others are still read"));
                if (whole)
                {
                    return;
                }
            }
        }
    }

    private static Diagnostic SyntaxError(Exception failure, string chunkText, string file, int documentIndex, int chunkLine, string code, string consequence)
    {
        string message;
        int line, column;
        if (failure is YamlException { Start.Line: > 0 } yaml)
        {
            (line, column) = ((int)yaml.Start.Line, (int)yaml.Start.Column);
            message = failure.Message.TrimEnd('.');
        }
        else
        {
            // YamlDotNet sometimes fails with a bare InvalidOperationException (e.g. an unclosed `{` followed by
            // block lines) that carries no position: the end of the last event it could parse is the best hint.
            var last = LastParsedMark(chunkText);
            (line, column) = ((int)last.Line, (int)last.Column);
            message = "the YAML parser gave up after this point (an unclosed bracket, brace or quote is a common cause)";
        }

        line += chunkLine - 1;
        return new Diagnostic(
            Severity.Error,
            code,
            $"malformed YAML at line {line}, column {column}: {message}; {consequence}",
            Source: new SourceLocation(file, documentIndex, line));
    }

    private static Mark LastParsedMark(string chunkText)
    {
        var parser = new Parser(new StringReader(chunkText));
        var last = new Mark(0, 1, 1);
        try
        {
            while (parser.MoveNext())
            {
                last = parser.Current!.End;
            }
        }
        catch (Exception)
        {
            // Expected: this replays the failure only to find where it happened.
        }

        return last;
    }
}
