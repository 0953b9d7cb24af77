namespace OrleansGateway.Model.Hosts;

/// <summary>
/// Patterns held by others, answering <see cref="HostPattern.Overlaps"/> against all of them at once in O(labels of the
/// asked pattern) instead of O(patterns held): the cross-tenant arbiter asks it for every route of a claim, and a
/// shared port may hold thousands of names. It indexes the same rule (tests compare it with the pairwise test).
/// </summary>
public sealed class HostPatternSet
{
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wildcardDomains = new(StringComparer.Ordinal);

    /// <summary>Every proper label suffix of a held name or wildcard domain: a wildcard of such a suffix covers that pattern.</summary>
    private readonly HashSet<string> _coveredDomains = new(StringComparer.Ordinal);

    private bool _any;
    private bool _empty = true;

    public void Add(HostPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        _empty = false;
        switch (pattern.Kind)
        {
            case HostPatternKind.Any:
                _any = true;
                return;
            case HostPatternKind.Exact:
                _exact.Add(pattern.Text);
                break;
            default:
                _wildcardDomains.Add(pattern.Domain);
                break;
        }

        foreach (var suffix in ProperSuffixes(pattern.Domain))
        {
            _coveredDomains.Add(suffix);
        }
    }

    /// <summary>True when some name is matched both by <paramref name="pattern"/> and by a pattern of this set.</summary>
    public bool Overlaps(HostPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (_empty)
        {
            return false;
        }

        if (_any || pattern.Kind == HostPatternKind.Any)
        {
            return true;
        }

        // A held wildcard covers the pattern: its domain is the pattern's wildcard domain or a proper suffix of its domain.
        if (pattern.Kind == HostPatternKind.Wildcard ? _wildcardDomains.Contains(pattern.Domain) : _exact.Contains(pattern.Text))
        {
            return true;
        }

        foreach (var suffix in ProperSuffixes(pattern.Domain))
        {
            if (_wildcardDomains.Contains(suffix))
            {
                return true;
            }
        }

        // The pattern, a wildcard, covers a held name or wildcard below its domain.
        return pattern.Kind == HostPatternKind.Wildcard && _coveredDomains.Contains(pattern.Domain);
    }

    /// <summary><c>a.b.c</c> → <c>b.c</c>, <c>c</c>.</summary>
    private static IEnumerable<string> ProperSuffixes(string domain)
    {
        for (var dot = domain.IndexOf('.'); dot >= 0; dot = domain.IndexOf('.', dot + 1))
        {
            yield return domain[(dot + 1)..];
        }
    }
}
