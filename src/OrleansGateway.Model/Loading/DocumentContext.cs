using OrleansGateway.Model.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.Model.Loading;

/// <summary>
/// Where the document being read sits: the file, its 0-based index and the line offset of the chunk it was
/// parsed from (documents are parsed one chunk at a time, so YamlDotNet's lines are relative to the chunk).
/// </summary>
internal sealed class DocumentContext(string file, int documentIndex, int lineOffset, List<Diagnostic> output)
{
    public string File { get; } = file;
    public int DocumentIndex { get; } = documentIndex;

    /// <summary>Every diagnostic of the load, in order.</summary>
    public List<Diagnostic> Output { get; } = output;

    public int Line(Mark mark) => (int)mark.Line + lineOffset;

    public SourceLocation At(YamlNode node) => new(File, DocumentIndex, Line(node.Start));

    /// <summary>A document-level finding (no resource could be built).</summary>
    public void Report(Severity severity, string code, YamlNode at, string message, string? field = null) =>
        Output.Add(new Diagnostic(severity, code, message, Source: At(at), Field: field));
}
