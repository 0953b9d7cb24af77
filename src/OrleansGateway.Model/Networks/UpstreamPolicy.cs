using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using OrleansGateway.Model.Hosts;

namespace OrleansGateway.Model.Networks;

/// <summary>
/// The upstreams one tenant may reach: its quota's <c>allowedUpstreams</c>, address ranges and host-name globs
/// (docs/control-plane.md, "Egress"). When applying, an IP-literal upstream must lie in a range and a name must match
/// a glob; when connecting, every address a name resolves to must lie in a range, so a list of globs alone reaches
/// nothing and a DNS answer cannot point the gateway inside. Loopback (127.0.0.0/8, ::1) lies only in ranges that are
/// themselves inside loopback (<c>0.0.0.0/0</c> and <c>::/0</c> never include it), and the unspecified addresses,
/// which reach this machine too, in none. <see cref="Unlimited"/> allows every address and name.
/// </summary>
public sealed class UpstreamPolicy
{
    private UpstreamPolicy(ImmutableArray<string>? entries, ImmutableArray<IPNetwork> networks, ImmutableArray<HostPattern> names)
    {
        Entries = entries;
        Networks = networks;
        Names = names;
    }

    /// <summary>Every address and every name (the quota's <c>null</c>).</summary>
    public static UpstreamPolicy Unlimited { get; } = new(null, [], []);

    /// <summary>No address and no name (the quota's <c>[]</c>).</summary>
    public static UpstreamPolicy Nothing { get; } = new([], [], []);

    /// <summary>The canonical entries (ranges as <c>10.0.0.0/8</c>, globs canonical); null when unlimited.</summary>
    public ImmutableArray<string>? Entries { get; }

    public bool IsUnlimited => Entries is null;

    public ImmutableArray<IPNetwork> Networks { get; }

    public ImmutableArray<HostPattern> Names { get; }

    /// <summary>
    /// Reads a list as an admin writes it (null: unlimited). Each entry is an address range
    /// (<see cref="Addresses.TryParseNetwork"/>) or a host glob (<see cref="HostPattern"/>: <c>db.example.com</c>,
    /// <c>*.svc.cluster.local</c>, <c>*</c>); otherwise <paramref name="error"/> names the entry's index and why.
    /// </summary>
    public static bool TryParse(IReadOnlyList<string>? entries, [NotNullWhen(true)] out UpstreamPolicy? policy, [NotNullWhen(false)] out string? error)
    {
        policy = null;
        error = null;
        if (entries is null)
        {
            policy = Unlimited;
            return true;
        }

        var networks = ImmutableArray.CreateBuilder<IPNetwork>();
        var names = ImmutableArray.CreateBuilder<HostPattern>();
        var canonical = ImmutableArray.CreateBuilder<string>();
        for (var i = 0; i < entries.Count; i++)
        {
            if (!TryParseEntry(entries[i], out var network, out var name, out var problem))
            {
                error = $"[{i}]: {problem}";
                return false;
            }

            if (name is null)
            {
                networks.Add(network);
                canonical.Add(network.ToString());
            }
            else
            {
                names.Add(name);
                canonical.Add(name.Text);
            }
        }

        policy = new UpstreamPolicy(canonical.ToImmutable(), networks.ToImmutable(), names.ToImmutable());
        return true;
    }

    /// <summary>Reads entries stored in canonical form; an entry that no longer reads is left out (it grants nothing).</summary>
    public static UpstreamPolicy FromStored(ImmutableArray<string>? entries)
    {
        if (entries is not { } list)
        {
            return Unlimited;
        }

        var readable = list.Where(e => TryParseEntry(e, out _, out _, out _)).ToList();
        return TryParse(readable, out var policy, out _) ? policy : Nothing;
    }

    /// <summary>Whether a connection to <paramref name="address"/> is allowed (an IP literal upstream, or an address a name resolved to).</summary>
    public bool AllowsAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (IsUnlimited)
        {
            return true;
        }

        var a = Addresses.Canonical(address);
        if (Addresses.IsUnspecified(a))
        {
            return false;
        }

        var loopback = Addresses.IsLoopback(a);
        foreach (var network in Networks)
        {
            if (network.Contains(a) && (!loopback || Addresses.IsWithinLoopback(network)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether an upstream written as the name <paramref name="host"/> is allowed when applying (its addresses are checked when connecting).</summary>
    public bool AllowsName(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (IsUnlimited)
        {
            return true;
        }

        // Upstream names may carry what SNI names may not ('_' in service names); such a name matches only '*'.
        return HostName.TryParse(host, out var name, out _)
            ? Names.Any(p => p.Matches(name))
            : Names.Any(p => p.Kind == HostPatternKind.Any);
    }

    /// <summary>The entries for a message: <c>10.0.0.0/8, *.svc.cluster.local</c>, <c>none</c> or <c>any</c>.</summary>
    public override string ToString() => Entries is not { } entries ? "any" : entries.IsEmpty ? "none" : string.Join(", ", entries);

    private static bool TryParseEntry(string? text, out IPNetwork network, out HostPattern? name, [NotNullWhen(false)] out string? error)
    {
        network = default;
        name = null;
        text ??= "";
        if (text.Contains('/', StringComparison.Ordinal) || IPAddress.TryParse(text.Trim(), out _) && !LooksLikeName(text))
        {
            return Addresses.TryParseNetwork(text, out network, out error);
        }

        if (HostPattern.TryParse(text, out name, out var problem))
        {
            error = null;
            return true;
        }

        error = $"{problem} An entry is an address range (10.0.0.0/8, 2001:db8::/32, a single address) or a host glob (db.example.com, *.svc.cluster.local, *).";
        return false;
    }

    /// <summary><see cref="IPAddress.TryParse(string, out IPAddress)"/> also reads <c>1</c> or <c>1.2</c>; only dotted quads and IPv6 text are addresses here.</summary>
    private static bool LooksLikeName(string text) => !text.Contains(':', StringComparison.Ordinal) && text.Count(c => c == '.') != 3;
}
