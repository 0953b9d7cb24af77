using System.Collections.Immutable;

namespace OrleansGateway.Model;

/// <summary>Resources read from files, and every diagnostic about them (never an exception).</summary>
public sealed record LoadResult(ImmutableArray<Resource> Resources, ImmutableArray<Diagnostic> Diagnostics)
{
    public static readonly LoadResult Empty = new([], []);
}

/// <summary>Reads Emissary resources and Kubernetes TLS Secrets from multi-document YAML or JSON.</summary>
public static class ResourceLoader
{
    /// <summary>Parses one file's text. <paramref name="file"/> is only used in diagnostics and <see cref="SourceLocation"/>.</summary>
    public static LoadResult Parse(string text, string file) => throw new NotImplementedException("loader");

    /// <summary>
    /// Loads a file, or every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> file under a directory (recursively, in
    /// ordinal order of relative path, skipping names that start with a dot). I/O errors become diagnostics.
    /// </summary>
    public static LoadResult LoadPath(string path) => throw new NotImplementedException("loader");
}
