namespace OrleansGateway.Model.Loading;

/// <summary>
/// Cuts a file at its <c>---</c> document markers so that each document is parsed on its own: YamlDotNet cannot
/// resume after a syntax error, and one broken document must not hide the others. This is exact YAML: a
/// <c>---</c> at the start of a line always ends the document (even inside a block or quoted scalar).
/// </summary>
internal static class DocumentSplitter
{
    /// <summary>A part of the text and the 1-based line it starts on.</summary>
    public readonly record struct Chunk(int Start, int Length, int FirstLine);

    public static List<Chunk> Split(string text)
    {
        var chunks = new List<Chunk>();
        int chunkStart = 0, chunkLine = 1, line = 1, position = 0;
        while (position < text.Length)
        {
            if (position > chunkStart && IsDocumentMarker(text, position))
            {
                chunks.Add(new Chunk(chunkStart, position - chunkStart, chunkLine));
                chunkStart = position;
                chunkLine = line;
            }

            var newline = text.IndexOf('\n', position);
            if (newline < 0)
            {
                break;
            }

            position = newline + 1;
            line++;
        }

        chunks.Add(new Chunk(chunkStart, text.Length - chunkStart, chunkLine));
        return chunks;
    }

    private static bool IsDocumentMarker(string text, int lineStart)
    {
        if (string.CompareOrdinal(text, lineStart, "---", 0, 3) != 0)
        {
            return false;
        }

        var after = lineStart + 3;
        return after == text.Length || text[after] is ' ' or '\t' or '\r' or '\n';
    }
}
