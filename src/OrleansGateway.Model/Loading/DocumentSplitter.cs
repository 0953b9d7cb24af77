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

        // Directives (%YAML, %TAG) and comments before a marker belong to the document the marker starts.
        var chunkHasContent = false;
        while (position < text.Length)
        {
            if (IsDocumentMarker(text, position))
            {
                if (chunkHasContent)
                {
                    chunks.Add(new Chunk(chunkStart, position - chunkStart, chunkLine));
                    chunkStart = position;
                    chunkLine = line;
                }

                chunkHasContent = true;
            }
            else if (!chunkHasContent && !IsPreamble(text, position))
            {
                chunkHasContent = true;
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

    /// <summary>A blank line, a comment or a directive: nothing that starts a document by itself.</summary>
    private static bool IsPreamble(string text, int lineStart)
    {
        if (text[lineStart] == '%')
        {
            return true;
        }

        for (var i = lineStart; i < text.Length; i++)
        {
            switch (text[i])
            {
                case ' ' or '\t' or '\r':
                    continue;
                case '\n' or '#':
                    return true;
                default:
                    return false;
            }
        }

        return true;
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
