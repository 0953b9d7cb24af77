using System.Text;

namespace OrleansGateway.Model.Diagnostics;

/// <summary>
/// Text that came from a tenant or a client (a resource name, a host, a tenant's directory name, a file's value), made
/// safe to print on one line of a log, a message or a metric tag (docs/data-plane.md, "What tenants and clients put in
/// logs"). Control characters (C0, DEL, C1 such as NEL), the Unicode line and paragraph separators and the bidirectional
/// overrides are written as escapes (<c>\n</c>, <c>\u001b</c>), so no value can end a log line, start a forged one, move
/// the cursor or reorder what a terminal shows; long values are cut.
/// </summary>
public static class LogText
{
    /// <summary>Longest value a metric tag carries (Prometheus stores every distinct value; a tenant's stats_name must not be a megabyte).</summary>
    public const int MaxTagLength = 128;

    /// <summary>Longest value of an access-log field or a quoted value in a message.</summary>
    public const int MaxValueLength = 256;

    /// <summary>
    /// <paramref name="text"/> with every character that could break or disguise a line escaped; the same string (no
    /// allocation) when there is none. Not cut: messages such as an exception's stay whole.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = FirstUnsafe(text, forField: false);
        return first < 0 ? text : Append(new StringBuilder(text.Length + 8).Append(text, 0, first), text.AsSpan(first), forField: false).ToString();
    }

    /// <summary>A value for a message: quoted, escaped, cut to <see cref="MaxValueLength"/>: <c>'bad\nname'</c>.</summary>
    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "'" + Escape(Cut(text, MaxValueLength)) + "'";
    }

    /// <summary>
    /// One <c>key=value</c> field of a space-separated log line (the access log): <c>-</c> for null or empty; the value
    /// itself when it has only letters, digits and <c>._:/-*[]@%+</c>; otherwise in double quotes with <c>"</c> and
    /// <c>\</c> escaped as well, so no value can add a field (<c>x tenant=other</c>) or end the line. Cut to
    /// <see cref="MaxValueLength"/>.
    /// </summary>
    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "-";
        }

        value = Cut(value, MaxValueLength);
        return FirstUnsafe(value, forField: true) < 0 ? value : Append(new StringBuilder(value.Length + 8).Append('"'), value, forField: true).Append('"').ToString();
    }

    /// <summary>A metric tag value: escaped and at most <see cref="MaxTagLength"/> characters.</summary>
    public static string Tag(string value) => Escape(Cut(value, MaxTagLength));

    /// <summary><paramref name="text"/> cut to <paramref name="max"/> characters, saying how much was left out.</summary>
    public static string Cut(string text, int max)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= max)
        {
            return text;
        }

        // The marker counts what is left out, and its length depends on that count: two rounds settle it.
        var keep = Math.Max(0, max - $"...(+{text.Length - max})".Length);
        keep = Math.Max(0, max - $"...(+{text.Length - keep})".Length);

        // Never split a surrogate pair: half of one is not text.
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return string.Concat(text.AsSpan(0, keep), $"...(+{text.Length - keep})");
    }

    private static bool IsUnsafe(char c) =>
        c < ' ' || c is >= '\u007f' and <= '\u009f' || c is '\u2028' or '\u2029' || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069';

    private static bool IsPlainField(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '/' or '-' or '*' or '[' or ']' or '@' or '%' or '+';

    private static int FirstUnsafe(string text, bool forField)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (forField ? !IsPlainField(text[i]) : IsUnsafe(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static StringBuilder Append(StringBuilder builder, ReadOnlySpan<char> text, bool forField)
    {
        foreach (var c in text)
        {
            _ = c switch
            {
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                '"' or '\\' when forField => builder.Append('\\').Append(c),
                _ when IsUnsafe(c) => builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
                _ => builder.Append(c),
            };
        }

        return builder;
    }
}
