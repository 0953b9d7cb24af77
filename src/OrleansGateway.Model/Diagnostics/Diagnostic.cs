using System.Collections.Immutable;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Diagnostics;

/// <summary>Identifies one resource: kind, namespace and name (what Emissary calls the rkey without the index).</summary>
public sealed record ResourceRef(string Kind, string Namespace, string Name)
{
    /// <summary>
    /// Human form used in messages, e.g. <c>TCPMapping 'ssh' (namespace default)</c>; escaped and bounded
    /// (<see cref="LogText"/>), since the names are the tenant's and the messages reach logs and terminals.
    /// </summary>
    public override string ToString() => $"{LogText.Escape(LogText.Cut(Kind, LogText.MaxValueLength))} {LogText.Quote(Name)} (namespace {LogText.Escape(LogText.Cut(Namespace, LogText.MaxValueLength))})";
}

/// <summary>Where a document came from: the file, the 0-based index of the YAML document in it, and its 1-based line.</summary>
public sealed record SourceLocation(string File, int DocumentIndex, int Line)
{
    public override string ToString() => $"{File}: document {DocumentIndex} (line {Line})";
}

public enum Severity
{
    Info,
    Warning,
    Error,
}

/// <summary>
/// One finding about the input. <see cref="Resource"/> is null only for findings about a file or document
/// that could not be read as a resource at all (malformed YAML, no kind, no name).
/// </summary>
/// <param name="Code">Stable machine-readable code, e.g. <c>field.type</c> or <c>group.conflict</c>.</param>
/// <param name="Field">Dotted path of the offending field, e.g. <c>spec.port</c>, when there is one.</param>
/// <param name="Related">The other resource in a conflict, when there is one.</param>
public sealed record Diagnostic(
    Severity Severity,
    string Code,
    string Message,
    ResourceRef? Resource = null,
    SourceLocation? Source = null,
    string? Field = null,
    ResourceRef? Related = null)
{
    public override string ToString()
    {
        var where = Source is null ? "" : $"{Source}: ";
        var what = Resource is null ? "" : $"{Resource}: ";
        var field = Field is null ? "" : $"{Field}: ";
        return $"{Severity.ToString().ToLowerInvariant()}: {where}{what}{field}{Message}";
    }
}

public enum ResourceState
{
    /// <summary>Valid and part of the plan.</summary>
    Accepted,

    /// <summary>Invalid or in conflict; not served. <see cref="ResourceStatus.Messages"/> says why.</summary>
    Discarded,

    /// <summary>Not for this gateway (another <c>ambassador_id</c>) or a kind this gateway does not handle.</summary>
    Ignored,
}

/// <summary>The outcome for one resource, with every message that concerns it (errors, warnings and notes).</summary>
public sealed record ResourceStatus(ResourceRef Resource, ResourceState State, ImmutableArray<string> Messages, SourceLocation? Source = null);
