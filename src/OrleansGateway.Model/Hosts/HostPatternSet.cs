namespace OrleansGateway.Model.Hosts;

/// <summary>
/// Patterns held by others, answering <see cref="HostPattern.Overlaps"/> against all of them at once in O(labels of the
/// asked pattern) instead of O(patterns held): the cross-tenant arbiter asks it for every route of a claim, and a
/// shared port may hold thousands of names. It indexes the same rule (tests compare it with the pairwise test).
/// Patterns are counted, so one added twice stays until removed twice: a listener keeps one set for all its tenants and
/// swaps a tenant's patterns on each of its changes (O(its patterns), not O(every pattern held)).
/// </summary>
public sealed class HostPatternSet
{
    private readonly Dictionary<string, int> _exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _wildcardDomains = new(StringComparer.Ordinal);

    /// <summary>Every proper label suffix of a held name or wildcard domain: a wildcard of such a suffix covers that pattern.</summary>
    private readonly Dictionary<string, int> _coveredDomains = new(StringComparer.Ordinal);

    private int _any;
    private int _count;

    public void Add(HostPattern pattern) => Count(pattern, 1);

    /// <summary>Takes back one <see cref="Add"/> of <paramref name="pattern"/> (a pattern never added is ignored).</summary>
    public void Remove(HostPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var held = pattern.Kind switch
        {
            HostPatternKind.Any => _any > 0,
            HostPatternKind.Exact => _exact.ContainsKey(pattern.Text),
            _ => _wildcardDomains.ContainsKey(pattern.Domain),
        };
        if (held)
        {
            Count(pattern, -1);
        }
    }

    private void Count(HostPattern pattern, int delta)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        _count += delta;
        switch (pattern.Kind)
        {
            case HostPatternKind.Any:
                _any += delta;
                return;
            case HostPatternKind.Exact:
                Count(_exact, pattern.Text, delta);
                break;
            default:
                Count(_wildcardDomains, pattern.Domain, delta);
                break;
        }

        foreach (var suffix in ProperSuffixes(pattern.Domain))
        {
            Count(_coveredDomains, suffix, delta);
        }
    }

    private static void Count(Dictionary<string, int> counts, string key, int delta)
    {
        var count = counts.GetValueOrDefault(key) + delta;
        if (count > 0)
        {
            counts[key] = count;
        }
        else
        {
            counts.Remove(key);
        }
    }

    /// <summary>True when some name is matched both by <paramref name="pattern"/> and by a pattern of this set.</summary>
    public bool Overlaps(HostPattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (_count == 0)
        {
            return false;
        }

        if (_any > 0 || pattern.Kind == HostPatternKind.Any)
        {
            return true;
        }

        // A held wildcard covers the pattern: its domain is the pattern's wildcard domain or a proper suffix of its domain.
        if (pattern.Kind == HostPatternKind.Wildcard ? _wildcardDomains.ContainsKey(pattern.Domain) : _exact.ContainsKey(pattern.Text))
        {
            return true;
        }

        foreach (var suffix in ProperSuffixes(pattern.Domain))
        {
            if (_wildcardDomains.ContainsKey(suffix))
            {
                return true;
            }
        }

        // The pattern, a wildcard, covers a held name or wildcard below its domain.
        return pattern.Kind == HostPatternKind.Wildcard && _coveredDomains.ContainsKey(pattern.Domain);
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
