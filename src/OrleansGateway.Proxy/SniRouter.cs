using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// SNI lookup of one listener snapshot: the exact name, then the longest matching <c>*.suffix</c>, then <c>*</c>.
/// Cost grows with the number of labels of the name, never with the number of routes: one dictionary of exact
/// names and one of wildcard suffixes, walked label by label from the longest suffix, without allocating.
/// </summary>
internal sealed class SniRouter
{
    private readonly Dictionary<string, RouteEntry> _exact;
    private readonly Dictionary<string, RouteEntry> _wildcardSuffixes;
    private readonly Dictionary<string, RouteEntry>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly Dictionary<string, RouteEntry>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;
    private readonly RouteEntry? _any;

    public SniRouter(IEnumerable<(string Host, HostPatternKind Kind, RouteEntry Route)> routes)
    {
        _exact = new Dictionary<string, RouteEntry>(StringComparer.OrdinalIgnoreCase);
        _wildcardSuffixes = new Dictionary<string, RouteEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var (host, kind, route) in routes)
        {
            // The compiler guarantees one route per host pattern; the first wins should it ever not.
            switch (kind)
            {
                case HostPatternKind.Exact:
                    _exact.TryAdd(host.TrimEnd('.'), route);
                    break;
                case HostPatternKind.Wildcard:
                    _wildcardSuffixes.TryAdd(host.TrimEnd('.')[2..], route);
                    break;
                default:
                    _any ??= route;
                    break;
            }
        }

        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = _wildcardSuffixes.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The route for <paramref name="serverName"/> (null or empty: no SNI), or null when none matches.</summary>
    public RouteEntry? Find(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return _any;
        }

        var name = serverName.AsSpan().TrimEnd('.');
        if (_exactLookup.TryGetValue(name, out var exact))
        {
            return exact;
        }

        if (_wildcardSuffixes.Count > 0)
        {
            // "a.b.example.com": try "b.example.com", then "example.com", then "com". The first hit is the longest
            // suffix, i.e. the most specific wildcard. "*.example.com" never matches "example.com" itself.
            for (var dot = name.IndexOf('.'); dot >= 0; dot = NextDot(name, dot))
            {
                if (_wildcardLookup.TryGetValue(name[(dot + 1)..], out var wildcard))
                {
                    return wildcard;
                }
            }
        }

        return _any;
    }

    private static int NextDot(ReadOnlySpan<char> name, int dot)
    {
        var next = name[(dot + 1)..].IndexOf('.');
        return next < 0 ? -1 : dot + 1 + next;
    }
}
