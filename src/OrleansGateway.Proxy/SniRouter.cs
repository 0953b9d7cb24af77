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
    private readonly Dictionary<string, RouteEntry> _exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RouteEntry> _wildcardDomains = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RouteEntry>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly Dictionary<string, RouteEntry>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;
    private readonly RouteEntry? _any;

    public SniRouter(IEnumerable<(HostPattern Host, RouteEntry Route)> routes)
    {
        foreach (var (host, route) in routes)
        {
            // The compiler and the listener's merge keep one route per pattern; the first wins should it ever not.
            switch (host.Kind)
            {
                case HostPatternKind.Exact:
                    _exact.TryAdd(host.Text, route);
                    break;
                case HostPatternKind.Wildcard:
                    _wildcardDomains.TryAdd(host.Domain, route);
                    break;
                default:
                    _any ??= route;
                    break;
            }
        }

        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = _wildcardDomains.GetAlternateLookup<ReadOnlySpan<char>>();
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
