using OrleansGateway.Model.Hosts;

namespace OrleansGateway.Proxy;

/// <summary>
/// SNI lookup of one listener snapshot: the first route in <see cref="HostPattern.SniOrder"/> whose pattern matches
/// the client's name, i.e. the exact name, then the longest matching <c>*.domain</c>, then <c>*</c>. Cost grows with
/// the number of labels of the name, never with the number of routes: one dictionary of exact names and one of
/// wildcard domains, walked label by label from the longest domain, without allocating. The name is canonicalized
/// by <see cref="HostName.TryCanonicalize"/>, the rule the patterns were canonicalized by.
/// </summary>
internal sealed class SniRouter
{
    private readonly Dictionary<string, RouteEntry> _exact;
    private readonly Dictionary<string, RouteEntry> _wildcardDomains;
    private readonly Dictionary<string, RouteEntry>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly Dictionary<string, RouteEntry>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;
    private readonly RouteEntry? _any;

    /// <summary>True when two routes had one pattern (the first won): such a router is never changed in place.</summary>
    private readonly bool _shadowed;

    public SniRouter(IEnumerable<(HostPattern Host, RouteEntry Route)> routes)
        : this(new Dictionary<string, RouteEntry>(StringComparer.Ordinal), new Dictionary<string, RouteEntry>(StringComparer.Ordinal), null)
    {
        foreach (var (host, route) in routes)
        {
            // The compiler and the listener's merge keep one route per pattern; the first wins should it ever not.
            _shadowed |= !TryAdd(_exact, _wildcardDomains, ref _any, host, route);
        }
    }

    private SniRouter(Dictionary<string, RouteEntry> exact, Dictionary<string, RouteEntry> wildcardDomains, RouteEntry? any)
    {
        _exact = exact;
        _wildcardDomains = wildcardDomains;
        _any = any;
        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = _wildcardDomains.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// A copy of this router with the entries of <paramref name="removed"/> taken out and those of
    /// <paramref name="added"/> put in: the tables are copied (a dictionary copies its entries with their stored hash codes) and only the
    /// changed patterns are touched; a lookup costs what it did. Null when the result would depend on the order of routes (a pattern added while another route
    /// still holds it, or this router already shadows one): the caller builds it whole, in plan order.
    /// </summary>
    public SniRouter? With(IEnumerable<(HostPattern Host, RouteEntry Route)> removed, IEnumerable<(HostPattern Host, RouteEntry Route)> added)
    {
        if (_shadowed)
        {
            return null;
        }

        var exact = new Dictionary<string, RouteEntry>(_exact, StringComparer.Ordinal);
        var wildcardDomains = new Dictionary<string, RouteEntry>(_wildcardDomains, StringComparer.Ordinal);
        var any = _any;
        foreach (var (host, route) in removed)
        {
            // Only the entry this route put there: another route's entry for the pattern stays.
            var (table, key) = host.Kind switch
            {
                HostPatternKind.Exact => (exact, host.Text),
                HostPatternKind.Wildcard => (wildcardDomains, host.Domain),
                _ => ((Dictionary<string, RouteEntry>?)null, ""),
            };
            if (table is null)
            {
                any = any == route ? null : any;
            }
            else if (table.TryGetValue(key, out var held) && held == route)
            {
                table.Remove(key);
            }
        }

        foreach (var (host, route) in added)
        {
            if (!TryAdd(exact, wildcardDomains, ref any, host, route))
            {
                return null;
            }
        }

        return new SniRouter(exact, wildcardDomains, any);
    }

    private static bool TryAdd(Dictionary<string, RouteEntry> exact, Dictionary<string, RouteEntry> wildcardDomains, ref RouteEntry? any,
        HostPattern host, RouteEntry route)
    {
        switch (host.Kind)
        {
            case HostPatternKind.Exact:
                return exact.TryAdd(host.Text, route);
            case HostPatternKind.Wildcard:
                return wildcardDomains.TryAdd(host.Domain, route);
            default:
                if (any is not null)
                {
                    return false;
                }

                any = route;
                return true;
        }
    }

    /// <summary>The route for <paramref name="serverName"/> (null or empty: no SNI), or null when none matches.</summary>
    public RouteEntry? Find(string? serverName)
    {
        Span<char> buffer = stackalloc char[HostName.MaxLength];
        if (string.IsNullOrEmpty(serverName) || !HostName.TryCanonicalize(serverName, buffer, out var length))
        {
            // No name, or one no pattern can match (not ASCII, too long): only '*' takes it.
            return _any;
        }

        var name = buffer[..length];
        if (_exactLookup.TryGetValue(name, out var exact))
        {
            return exact;
        }

        if (_wildcardDomains.Count > 0)
        {
            // "a.b.example.com": try "b.example.com", then "example.com", then "com". The first hit is the longest
            // domain, i.e. the most specific wildcard. "*.example.com" never matches "example.com" itself.
            for (var dot = name.IndexOf('.'); dot >= 0; dot = name.IndexOf('.'))
            {
                name = name[(dot + 1)..];
                if (_wildcardLookup.TryGetValue(name, out var wildcard))
                {
                    return wildcard;
                }
            }
        }

        return _any;
    }
}
