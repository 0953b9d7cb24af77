using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace OrleansGateway.Model.Hosts;

/// <summary>
/// The canonical form of a DNS host name, defined here and nowhere else (docs/tcpmapping-semantics.md, "Host names"):
/// lower case, no trailing dot, internationalized labels as A-labels (RFC 5890/5891, punycode RFC 3492), labels of
/// 1..63 letters, digits and hyphens (a hyphen neither first nor last), 253 characters at most. The compiler reads
/// every name a tenant writes with <see cref="TryParse"/>; the data plane reads a client's SNI with
/// <see cref="TryCanonicalize"/>, which applies the same case and trailing-dot rules without allocating.
/// </summary>
public static class HostName
{
    /// <summary>RFC 1035 2.3.4, written without the trailing dot.</summary>
    public const int MaxLength = 253;

    public const int MaxLabelLength = 63;

    private const string AcePrefix = "xn--";

    private static readonly SearchValues<char> LetterDigitHyphen = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>
    /// A client's SNI as the routes are keyed: one trailing dot removed, ASCII letters lower-cased, into
    /// <paramref name="destination"/> (at least <see cref="MaxLength"/> characters). False for a name longer than
    /// <see cref="MaxLength"/> or one that is not ASCII (SNI carries A-labels, RFC 6066 3): no route can match it.
    /// </summary>
    public static bool TryCanonicalize(ReadOnlySpan<char> name, Span<char> destination, out int length)
    {
        name = WithoutTrailingDot(name);
        if (name.Length > MaxLength || name.Length > destination.Length
            || Ascii.ToLower(name, destination, out length) != OperationStatus.Done)
        {
            length = 0;
            return false;
        }

        return true;
    }

    /// <summary>
    /// A name as a tenant writes it (<c>Shop.Example.COM.</c>, <c>bücher.example</c>) in canonical form
    /// (<c>shop.example.com</c>, <c>xn--bcher-kva.example</c>); otherwise <paramref name="error"/> says why, starting
    /// with the quoted name, e.g. <c>'a_b.test' has '_' in label 'a_b'; ...</c>.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? error)
    {
        error = Parse(text ?? "", text ?? "", out name);
        return error is null;
    }

    /// <summary><paramref name="text"/> quoted for a message: control characters escaped, at most 80 characters shown.</summary>
    public static string Quote(string text)
    {
        var shown = text.Length > 80 ? text[..80] : text;
        var builder = new StringBuilder(shown.Length + 2).Append('\'');
        foreach (var c in shown)
        {
            if (char.IsControl(c) || (char.IsWhiteSpace(c) && c != ' '))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Append(shown.Length < text.Length ? "…'" : "'").ToString();
    }

    /// <summary>
    /// Parses <paramref name="text"/> (a whole name, or the part of a pattern after <c>*.</c>); messages quote
    /// <paramref name="original"/>. Returns the error, or null with <paramref name="name"/> set.
    /// </summary>
    internal static string? Parse(string text, string original, out string? name)
    {
        name = null;
        var quoted = Quote(original);
        if (original.Length == 0)
        {
            return $"{quoted} is empty; write a DNS name such as 'db.example.com'.";
        }

        if (original.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return $"{quoted} contains whitespace or a control character; write the name alone, e.g. 'db.example.com'.";
        }

        if (original.Contains(':'))
        {
            return $"{quoted} contains ':' (a port?), but the name a TLS client sends (SNI) never carries a port, so it could " +
                "never match. Remove it (the port is the listener's spec.port).";
        }

        var trimmed = WithoutTrailingDot(text.AsSpan()).ToString();
        var labels = trimmed.Split('.');
        var canonical = new string[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            if (CanonicalLabel(labels[i], quoted, out canonical[i]) is { } problem)
            {
                return problem;
            }
        }

        var result = string.Join('.', canonical);
        if (result.Length > MaxLength)
        {
            return $"{quoted} is {result.Length} characters long (with its labels as A-labels); a DNS name has at most {MaxLength}.";
        }

        name = result;
        return null;
    }

    private static ReadOnlySpan<char> WithoutTrailingDot(ReadOnlySpan<char> name) =>
        name.Length > 0 && name[^1] == '.' ? name[..^1] : name;

    private static string? CanonicalLabel(string label, string quoted, out string canonical)
    {
        canonical = "";
        if (label.Length == 0)
        {
            return $"{quoted} has an empty label (a leading dot, two dots in a row, or nothing but a dot); write e.g. 'db.example.com'.";
        }

        string ascii;
        if (Ascii.IsValid(label))
        {
            ascii = label.ToLowerInvariant();
            if (ascii.StartsWith(AcePrefix, StringComparison.Ordinal) && !IsALabel(ascii))
            {
                return $"{quoted} has the label '{ascii}', which starts with '{AcePrefix}' but is not a valid A-label (the punycode of " +
                    "a lower-case internationalized label). Write the name in Unicode, or copy its A-label exactly.";
            }
        }
        else
        {
            var unicode = label.ToLowerInvariant();
            if (Disallowed(unicode) is { } rune)
            {
                return $"{quoted} has U+{rune.Value:X4} ('{rune}') in the label '{label}', which an internationalized host name cannot " +
                    "contain (only letters, marks, digits and '-'). Fix the label, or write its A-label.";
            }

            if (ToALabel(unicode) is not { } encoded)
            {
                return $"{quoted} has the label '{label}', which cannot be converted to an A-label (punycode). Fix the label, or write its A-label.";
            }

            ascii = encoded;
        }

        if (ascii.Length > MaxLabelLength)
        {
            return $"{quoted} has a label of {ascii.Length} characters ('{ascii[..20]}…'{(ascii == label ? "" : " as an A-label")}); " +
                $"a DNS label has at most {MaxLabelLength}.";
        }

        var at = ascii.AsSpan().IndexOfAnyExcept(LetterDigitHyphen);
        if (at >= 0)
        {
            var bad = ascii[at];
            var hint = bad == '*' ? " ('*' only as the whole leftmost label: '*.example.com', or '*' alone)" : "";
            return $"{quoted} has '{bad}' in the label '{label}'; a host name label has only letters, digits and '-'{hint}.";
        }

        if (ascii[0] == '-' || ascii[^1] == '-')
        {
            return $"{quoted} has the label '{label}', which starts or ends with '-'; a host name label may not.";
        }

        canonical = ascii;
        return null;
    }

    /// <summary>
    /// The first rune that may not stand in a U-label: anything but letters, marks, decimal digits and '-', and the
    /// fullwidth and halfwidth forms (U+FF00..U+FFEF). IDNA maps those to the plain characters (UTS #46) and IDNA2008
    /// refuses them; this build has no Unicode normalization (InvariantGlobalization), so they are refused rather than
    /// read as a name of their own ('ｅｘａｍｐｌｅ.com' is not 'example.com' here).
    /// </summary>
    private static Rune? Disallowed(string unicode)
    {
        foreach (var rune in unicode.EnumerateRunes())
        {
            var allowed = rune.Value == '-' || (rune.Value is < 0xFF00 or > 0xFFEF && Rune.GetUnicodeCategory(rune) is UnicodeCategory.LowercaseLetter
                or UnicodeCategory.OtherLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.NonSpacingMark
                or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.DecimalDigitNumber);
            if (!allowed)
            {
                return rune;
            }
        }

        return null;
    }

    private static string? ToALabel(string unicode)
    {
        if (unicode[0] == '-' || unicode[^1] == '-')
        {
            return null;
        }

        try
        {
            // IdnMapping also works with InvariantGlobalization (its managed punycode, RFC 3492); the case mapping and
            // the character check above are done here because that mode does not apply IDNA's own.
            return new IdnMapping().GetAscii(unicode);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>An <c>xn--</c> label is an A-label when it decodes to a label that is not plain ASCII and encodes back to itself.</summary>
    private static bool IsALabel(string label)
    {
        string unicode;
        try
        {
            unicode = new IdnMapping().GetUnicode(label);
        }
        catch (ArgumentException)
        {
            return false;
        }

        return unicode.Length > 0 && !Ascii.IsValid(unicode) && unicode == unicode.ToLowerInvariant() && Disallowed(unicode) is null
            && ToALabel(unicode) == label;
    }
}
