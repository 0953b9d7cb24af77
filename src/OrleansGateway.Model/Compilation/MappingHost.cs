using OrleansGateway.Model.Plan;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// A TCPMapping's <c>host</c>: the SNI pattern its TLS route answers. SNI never carries a port, and the data plane
/// matches an exact name, a leading <c>*.</c> wildcard (any depth, as Envoy) or <c>*</c>; anything else could
/// never match, so it is an error instead of Emissary's silent dead route.
/// </summary>
internal static class MappingHost
{
    public static (string Pattern, HostPatternKind Kind)? Parse(string host, out string? error)
    {
        error = null;
        var h = host.Trim().ToLowerInvariant();
        if (h == "*")
        {
            return (h, HostPatternKind.Any);
        }

        if (h.Contains(':'))
        {
            error = $"host '{host}' contains a port, but the SNI name a client sends never carries one, so it could never match. " +
                "Remove the port from host (the listener port is spec.port).";
            return null;
        }

        var name = h.StartsWith("*.", StringComparison.Ordinal) ? h[2..] : h;
        if (name.Contains('*'))
        {
            error = $"host '{host}' has '*' somewhere other than a leading '*.' label; use an exact name, '*.example.com' or '*'.";
            return null;
        }

        if (name.Length == 0 || name.StartsWith('.') || name.Contains("..", StringComparison.Ordinal) ||
            !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
        {
            error = $"host '{host}' is not a DNS name; use letters, digits, '-' and '.', e.g. 'db.example.com'.";
            return null;
        }

        return (h, h.StartsWith('*') ? HostPatternKind.Wildcard : HostPatternKind.Exact);
    }
}

/// <summary>
/// Emissary's two-sided host glob test (<c>irutils.py::hostglob_matches</c>, research §8.1): can some name match
/// both globs? A <c>*</c> stands first or last, matches a non-empty string and may cross labels.
/// </summary>
internal static class HostGlob
{
    public static bool Matches(string g1, string g2)
    {
        if (g1 == g2 || g1 == "*" || g2 == "*")
        {
            return true;
        }

        if (g1.Length == 0 || g2.Length == 0 || g1[0] == '.' || g2[0] == '.')
        {
            return false;
        }

        bool s1 = g1[0] == '*', e1 = g1[^1] == '*', s2 = g2[0] == '*', e2 = g2[^1] == '*';
        if ((s1 && e1) || (s2 && e2))
        {
            // A '*' at both ends is no valid glob (Envoy would take the trailing one literally): only itself matches.
            return false;
        }

        if (!(s1 || e1 || s2 || e2))
        {
            return false;
        }

        // One leading and one trailing wildcard can always overlap.
        if ((s1 && e2) || (s2 && e1))
        {
            return true;
        }

        if (s1)
        {
            return SuffixesOverlap(g1, g2, s2);
        }

        if (s2)
        {
            return SuffixesOverlap(g2, g1, s1);
        }

        return e1 ? PrefixesOverlap(g1, g2, e2) : PrefixesOverlap(g2, g1, e1);
    }

    // glob starts with '*'; other may too. The '*' matches at least one character.
    private static bool SuffixesOverlap(string glob, string other, bool otherIsGlob)
    {
        var a = glob[1..];
        var b = otherIsGlob ? other[1..] : other;
        if (!otherIsGlob)
        {
            return b.Length > a.Length && b.EndsWith(a, StringComparison.Ordinal);
        }

        return a.Length >= b.Length ? a.EndsWith(b, StringComparison.Ordinal) : b.EndsWith(a, StringComparison.Ordinal);
    }

    private static bool PrefixesOverlap(string glob, string other, bool otherIsGlob)
    {
        var a = glob[..^1];
        var b = otherIsGlob ? other[..^1] : other;
        if (!otherIsGlob)
        {
            return b.Length > a.Length && b.StartsWith(a, StringComparison.Ordinal);
        }

        return a.Length >= b.Length ? a.StartsWith(b, StringComparison.Ordinal) : b.StartsWith(a, StringComparison.Ordinal);
    }
}
