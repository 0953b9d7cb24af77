using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansGateway.Model.Hosts;

public enum HostPatternKind
{
    /// <summary><c>foo.example.com</c></summary>
    Exact,

    /// <summary><c>*.example.com</c>: any name ending in <c>.example.com</c>, several labels deep included.</summary>
    Wildcard,

    /// <summary><c>*</c>: every TLS connection not matched more specifically (with or without SNI).</summary>
    Any,
}

/// <summary>
/// An SNI name or glob in canonical form: an exact <see cref="HostName"/>, <c>*.</c> and a host name, or <c>*</c>
/// alone. The one definition of host globbing and of SNI order, used by the compiler (TCPMapping <c>host</c>, Host
/// <c>hostname</c>, TLSContext <c>hosts</c>), the cross-tenant arbiter and the data plane's SNI router, so all of
/// them compare the same text (docs/tcpmapping-semantics.md, "Host names").
/// </summary>
/// <remarks>
/// A <c>*</c> stands for one or more whole labels (<c>*.example.com</c> matches <c>a.example.com</c> and
/// <c>a.b.example.com</c>, never <c>example.com</c>), as Envoy matches server names. Immutable, equal by its
/// canonical text, which is also its JSON form.
/// </remarks>
[JsonConverter(typeof(HostPatternJsonConverter))]
public sealed class HostPattern : IEquatable<HostPattern>, IComparable<HostPattern>
{
    private HostPattern(string text, HostPatternKind kind, string domain)
    {
        Text = text;
        Kind = kind;
        Domain = domain;
    }

    /// <summary><c>*</c>.</summary>
    public static HostPattern Any { get; } = new("*", HostPatternKind.Any, "");

    /// <summary>
    /// Exact names first, then wildcards by descending length (the most specific first), then <c>*</c>; ordinal text
    /// orders the rest. Matching a name against patterns in this order and taking the first match is the SNI rule.
    /// </summary>
    public static IComparer<HostPattern> SniOrder { get; } = Comparer<HostPattern>.Create(static (a, b) =>
    {
        var c = a.Kind.CompareTo(b.Kind);
        if (c == 0 && a.Kind == HostPatternKind.Wildcard)
        {
            c = b.Text.Length.CompareTo(a.Text.Length);
        }

        return c != 0 ? c : string.CompareOrdinal(a.Text, b.Text);
    });

    /// <summary>The canonical text: <c>db.example.com</c>, <c>*.example.com</c> or <c>*</c>.</summary>
    public string Text { get; }

    public HostPatternKind Kind { get; }

    /// <summary>The name an exact pattern is, the name a wildcard's labels stand before (<c>example.com</c>), empty for <c>*</c>.</summary>
    public string Domain { get; }

    /// <summary>
    /// Reads a pattern as a tenant writes it: case, a trailing dot and Unicode labels are canonicalized
    /// (<c>*.Bücher.TEST.</c> is <c>*.xn--bcher-kva.test</c>); a <c>*</c> anywhere but as the whole leftmost label, and
    /// everything <see cref="HostName.TryParse"/> refuses, is an <paramref name="error"/> that starts with the quoted text.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HostPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        text ??= "";
        if (text is "*" or "*.")
        {
            pattern = Any;
            error = null;
            return true;
        }

        var wildcard = text.StartsWith("*.", StringComparison.Ordinal);
        var name = wildcard ? text[2..] : text;
        if (name.Contains('*'))
        {
            error = $"{HostName.Quote(text)} has '*' somewhere other than as the whole leftmost label; write an exact name " +
                "('db.example.com'), a wildcard ('*.example.com') or '*'.";
            return false;
        }

        error = HostName.Parse(name, text, out var canonical);
        if (error is not null)
        {
            return false;
        }

        if (wildcard && canonical!.Length + 2 > HostName.MaxLength)
        {
            error = $"{HostName.Quote(text)} is too long: the names it would match have more than {HostName.MaxLength} characters.";
            return false;
        }

        pattern = wildcard
            ? new HostPattern("*." + canonical, HostPatternKind.Wildcard, canonical!)
            : new HostPattern(canonical!, HostPatternKind.Exact, canonical!);
        return true;
    }

    /// <exception cref="FormatException">The text is not a host pattern; the message says why.</exception>
    public static HostPattern Parse(string text) =>
        TryParse(text, out var pattern, out var error) ? pattern : throw new FormatException(error);

    /// <summary>
    /// Whether the client's server name <paramref name="name"/>, in canonical form (<see cref="HostName.TryCanonicalize"/>;
    /// empty when the client sent none), is matched by this pattern. Only <c>*</c> matches an absent name.
    /// </summary>
    public bool Matches(ReadOnlySpan<char> name) => Kind switch
    {
        HostPatternKind.Exact => name.SequenceEqual(Text),
        HostPatternKind.Wildcard => name.Length > Domain.Length + 1 && name.EndsWith(Domain, StringComparison.Ordinal)
            && name[name.Length - Domain.Length - 1] == '.',
        _ => true,
    };

    /// <summary>Every name <paramref name="other"/> matches, this pattern matches too (<c>*.example.com</c> covers <c>*.a.example.com</c>).</summary>
    public bool Covers(HostPattern other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Kind switch
        {
            HostPatternKind.Any => true,
            HostPatternKind.Exact => Equals(other),
            _ => other.Kind switch
            {
                HostPatternKind.Exact => Matches(other.Text),
                HostPatternKind.Wildcard => other.Domain == Domain || Matches(other.Domain),
                _ => false,
            },
        };
    }

    /// <summary>
    /// Some name is matched by both patterns. With patterns of this shape that is exactly "one covers the other"; it is
    /// also Emissary's two-sided glob test (<c>hostglob_matches</c>) restricted to these shapes.
    /// </summary>
    public bool Overlaps(HostPattern other) => Covers(other) || other.Covers(this);

    public int CompareTo(HostPattern? other) => other is null ? 1 : SniOrder.Compare(this, other);

    public bool Equals(HostPattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is HostPattern other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    public override string ToString() => Text;

    public static bool operator ==(HostPattern? left, HostPattern? right) => left?.Equals(right) ?? right is null;

    public static bool operator !=(HostPattern? left, HostPattern? right) => !(left == right);

    /// <summary>
    /// A pattern read back from a stored plan. Plans stored before this type were validated by older rules (the host
    /// was lower-cased but might keep a trailing dot, an underscore or an over-long label): such text is canonicalized
    /// as far as it can be instead of making the listener's state unreadable; its tenant's next compile refuses it.
    /// </summary>
    internal static HostPattern FromStored(string text)
    {
        if (TryParse(text, out var pattern, out _))
        {
            return pattern;
        }

        var lower = text.ToLowerInvariant();
        lower = lower.EndsWith('.') ? lower[..^1] : lower;
        return lower.StartsWith("*.", StringComparison.Ordinal)
            ? new HostPattern(lower, HostPatternKind.Wildcard, lower[2..])
            : new HostPattern(lower, HostPatternKind.Exact, lower);
    }
}

/// <summary>A <see cref="HostPattern"/> is its canonical text in JSON (plan records cross grain calls and grain state as JSON).</summary>
internal sealed class HostPatternJsonConverter : JsonConverter<HostPattern>
{
    public override HostPattern Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && reader.GetString() is { } text
            ? HostPattern.FromStored(text)
            : throw new JsonException($"a host pattern is a JSON string, not {reader.TokenType}.");

    public override void Write(Utf8JsonWriter writer, HostPattern value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
}
