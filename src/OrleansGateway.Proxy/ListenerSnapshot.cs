using System.Collections.Immutable;
using System.Diagnostics;
using System.Net.Security;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tls;

namespace OrleansGateway.Proxy;

/// <summary>
/// Everything a connection of one listener needs, prepared once per plan apply: the SNI router, the ready TLS
/// options of every route and upstream, and the circuit-breaker counters. Immutable; a listener swaps it whole
/// and a connection keeps the one it was accepted with.
/// </summary>
internal sealed class ListenerSnapshot
{
    private readonly CertificateUse[] _certificates;

    /// <summary>The entry of each SNI route object of <see cref="Plan"/>, for the next build to take over unchanged routes.</summary>
    private readonly Dictionary<SniRoute, RouteEntry> _routes;

    /// <summary>Per Secret, how many SNI routes of <see cref="Plan"/> use it (kept from build to build, changed per route).</summary>
    private readonly Dictionary<SecretRef, int> _sniSecrets;

    private ListenerSnapshot(ListenerPlan plan, SniRouter router, RouteEntry? catchAll, ImmutableArray<string> warnings, CertificateUse[] certificates,
        Dictionary<SniRoute, RouteEntry> routes, Dictionary<SecretRef, int> sniSecrets)
    {
        _routes = routes;
        _sniSecrets = sniSecrets;
        Plan = plan;
        Router = router;
        CatchAll = catchAll;
        Warnings = warnings;
        _certificates = certificates;
        Tags = ProxyMetrics.Tags(Label, null);

        // Everything a cleartext listener can route to is plain TCP: the native engine relays it without SslStream. A
        // PROXY protocol header is read on the managed path too, as the ClientHello is (docs/data-plane.md, "PROXY protocol").
        NativeRelay = !plan.TlsInspected && !plan.ProxyProtocol && (catchAll?.Upstreams.All(u => u.Plan.Origination is null) ?? true);
    }

    public ListenerPlan Plan { get; }
    public SniRouter Router { get; }
    public RouteEntry? CatchAll { get; }
    public ImmutableArray<string> Warnings { get; }

    /// <summary>The <c>listener</c> metrics tag.</summary>
    public string Label => string.IsNullOrEmpty(Plan.StatsPrefix) ? Plan.Name : Plan.StatsPrefix;

    public TagList Tags { get; }

    /// <summary>
    /// Whether the native engine relays this listener's connections itself: no TLS anywhere (not TLS-inspecting, no
    /// upstream that originates TLS) and no PROXY protocol header to read. Otherwise it hands them to <see cref="ProxyConnection"/>, which has SslStream.
    /// </summary>
    public bool NativeRelay { get; }

    /// <param name="runtime">The server's runtime, whose <see cref="ProxyRuntime.Outliers"/> keeps the routes' member health
    /// across applies; null (tests of routing alone): no outlier ejection.</param>
    /// <param name="previous">
    /// The snapshot this one replaces: a route that is the very same <see cref="SniRoute"/> object (an edge keeps the
    /// objects of tenants whose part did not change), built without a warning and none of whose Secrets now has other
    /// certificate objects, keeps its entry (and with it its members' health, which lives in the runtime's outlier
    /// groups), and the SNI router is the previous one with the changed routes taken out and put in. So a change of one
    /// tenant on a port shared by thousands prepares that tenant's routes and touches only their router entries; what
    /// is left linear is one pass of reference lookups over the routes and the copy of the router's tables.
    /// </param>
    public static ListenerSnapshot Build(
        ListenerPlan plan, ICertificateProvider certificates, CircuitBreakers breakers, ProxyRuntime? runtime = null, ListenerSnapshot? previous = null)
    {
        var warnings = ImmutableArray.CreateBuilder<string>();
        var label = string.IsNullOrEmpty(plan.StatsPrefix) ? plan.Name : plan.StatsPrefix;
        var reusable = previous is not null && previous.Label == label && plan.TlsInspected ? previous : null;

        // One lookup per Secret, not per route: when no Secret of the previous snapshot has new certificate objects
        // (the usual change), a route that is the same object is current without looking at its certificates.
        var rotated = reusable is not null && reusable._certificates.Any(c => !c.Matches(certificates));
        var entries = new Dictionary<SniRoute, RouteEntry>(plan.SniRoutes.Length, ReferenceEqualityComparer.Instance);
        var built = new List<(SniRoute Route, RouteEntry Entry)>();
        if (plan.TlsInspected)
        {
            foreach (var sni in plan.SniRoutes)
            {
                if (reusable is not null && reusable._routes.TryGetValue(sni, out var kept) && kept.Certificates is not null
                    && (!rotated || kept.IsCurrentFor(certificates)))
                {
                    entries[sni] = kept;
                    continue;
                }

                var entry = BuildSni(sni, plan, label, certificates, breakers, runtime, warnings);
                entries[sni] = entry;
                built.Add((sni, entry));
            }
        }

        var catchAll = plan.CatchAll is null ? null : RouteEntry.Build(plan.CatchAll, null, null, null, label, certificates, breakers, warnings,
            health: runtime?.Outliers.Members(plan.Endpoint, null, plan.CatchAll, label, runtime));

        // Only what changed: the routes no longer in the plan, and the previous entries of the routes built again.
        SniRouter? router = null;
        Dictionary<SecretRef, int> sniSecrets;
        if (reusable is not null)
        {
            var gone = reusable._routes.Where(r => !entries.ContainsKey(r.Key)).ToList();
            var replaced = built.Where(b => reusable._routes.ContainsKey(b.Route)).Select(b => (b.Route.Host, reusable._routes[b.Route]));
            router = reusable.Router.With([.. gone.Select(r => (r.Key.Host, r.Value)), .. replaced], built.Select(b => (b.Route.Host, b.Entry)));
            sniSecrets = new Dictionary<SecretRef, int>(reusable._sniSecrets);
            Count(sniSecrets, gone.Select(r => r.Key), -1);
            Count(sniSecrets, built.Where(b => !reusable._routes.ContainsKey(b.Route)).Select(b => b.Route), 1);
        }
        else
        {
            sniSecrets = [];
            Count(sniSecrets, plan.TlsInspected ? plan.SniRoutes : [], 1);
        }

        // A router that cannot be changed in place (two routes with one pattern: plan order decides) is built whole.
        router ??= new SniRouter(plan.TlsInspected ? plan.SniRoutes.Select(s => (s.Host, entries[s])) : []);
        var secrets = sniSecrets.Keys.Concat(plan.CatchAll is null ? [] : (plan with { SniRoutes = [] }).SecretUses().Select(u => u.Secret));
        return new ListenerSnapshot(plan, router, catchAll, warnings.ToImmutable(), CertificateUse.Of(secrets, certificates), entries, sniSecrets);
    }

    /// <summary>Prepares one SNI route (terminated or passthrough); it records the certificate objects it was built from when it can be taken over.</summary>
    private static RouteEntry BuildSni(SniRoute sni, ListenerPlan plan, string label, ICertificateProvider certificates, CircuitBreakers breakers,
        ProxyRuntime? runtime, ImmutableArray<string>.Builder warnings)
    {
        var health = runtime?.Outliers.Members(plan.Endpoint, sni.Host.Text, sni.Route, label, runtime);
        var warned = warnings.Count;
        if (sni.Termination is null)
        {
            // Passthrough: routed by SNI, relayed as raw bytes like the catch-all (nothing to prepare but the upstreams).
            var passthrough = RouteEntry.Build(sni.Route, sni.Host.Text, null, null, label, certificates, breakers, warnings, passthrough: true, health: health);
            passthrough.Certificates = warnings.Count == warned ? CertificateUse.Of(sni.SecretUses().Select(u => u.Secret), certificates) : null;
            return passthrough;
        }

        var serverTls = TlsOptionsFactory.ForTermination(sni.Termination, certificates, out var error);
        if (serverTls is null)
        {
            error = $"host '{sni.Host}' ({sni.Route.Name}): TLS termination cannot be set up ({error ?? "no options"}); its handshakes fail";
            warnings.Add(error);
        }

        var entry = RouteEntry.Build(sni.Route, sni.Host.Text, serverTls, serverTls is null ? error : null, label, certificates, breakers, warnings, health: health);
        if (serverTls is not null && warnings.Count == warned)
        {
            // Only a route built without a warning is taken over: a warning is reported by the build that has it.
            entry.Certificates = CertificateUse.Of(sni.SecretUses().Select(u => u.Secret), certificates);
        }

        return entry;
    }

    /// <summary>Adds <paramref name="sign"/> to the count of each distinct Secret of each route.</summary>
    private static void Count(Dictionary<SecretRef, int> counts, IEnumerable<SniRoute> routes, int sign)
    {
        foreach (var route in routes)
        {
            foreach (var secret in route.SecretUses().Secrets())
            {
                var count = counts.GetValueOrDefault(secret) + sign;
                if (count > 0)
                {
                    counts[secret] = count;
                }
                else
                {
                    counts.Remove(secret);
                }
            }
        }
    }

    /// <summary>
    /// True when building <paramref name="plan"/> with <paramref name="certificates"/> would give this snapshot again:
    /// the very same plan object (an edge keeps the objects of listeners whose slice did not change) and the same
    /// certificate objects for every Secret it uses. Checking costs one lookup per distinct Secret, not per route,
    /// so an apply that changes one listener of thousands does not rebuild (or re-read certificates for) the others.
    /// </summary>
    public bool IsCurrentFor(ListenerPlan plan, ICertificateProvider certificates)
    {
        if (!ReferenceEquals(plan, Plan))
        {
            return false;
        }

        foreach (var use in _certificates)
        {
            if (!use.Matches(certificates))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>The certificate objects a snapshot's TLS options were built from, for one Secret.</summary>
internal readonly record struct CertificateUse(SecretRef Secret, object? Certificate, object? Ca)
{
    public bool Matches(ICertificateProvider certificates) =>
        ReferenceEquals(certificates.GetCertificate(Secret), Certificate) && ReferenceEquals(certificates.GetCaCertificates(Secret), Ca);

    /// <summary>Every Secret of <paramref name="secrets"/> (certificate and CA), each once.</summary>
    public static CertificateUse[] Of(IEnumerable<SecretRef> secrets, ICertificateProvider certificates) =>
        [.. secrets.Distinct().Select(s => new CertificateUse(s, certificates.GetCertificate(s), certificates.GetCaCertificates(s)))];
}

/// <summary>One route (canary group) of a snapshot, with its ready TLS termination options when it terminates.</summary>
internal sealed class RouteEntry
{
    private readonly double _totalShare;

    private readonly OutlierGroup? _outliers;

    private RouteEntry(RoutePlan plan, string? host, SslServerAuthenticationOptions? serverTls, string? tlsError, UpstreamEntry[] upstreams, bool passthrough,
        OutlierGroup? outliers)
    {
        _outliers = outliers;
        Plan = plan;
        Host = host;
        Passthrough = passthrough;
        ServerTls = serverTls;
        TlsError = tlsError;
        Upstreams = upstreams;
        _totalShare = upstreams.Sum(u => Math.Max(0, u.Plan.Share));
    }

    public RoutePlan Plan { get; }

    /// <summary>The certificate objects a reusable SNI route was built with (set by <see cref="ListenerSnapshot.Build"/>); null: never reused.</summary>
    internal CertificateUse[]? Certificates { get; set; }

    /// <summary>True when this route's TLS was built from the same certificate objects <paramref name="certificates"/> holds now.</summary>
    public bool IsCurrentFor(ICertificateProvider certificates)
    {
        if (Certificates is not { } uses)
        {
            return false;
        }

        foreach (var use in uses)
        {
            if (!use.Matches(certificates))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The SNI pattern of an SNI route (terminated or passthrough); null for the catch-all (raw passthrough).</summary>
    public string? Host { get; }

    /// <summary>An SNI route relayed unterminated: the peeked ClientHello and every byte after it go to the upstream.</summary>
    public bool Passthrough { get; }

    public bool Terminates => Host is not null && !Passthrough;
    public SslServerAuthenticationOptions? ServerTls { get; }
    public string? TlsError { get; }
    public UpstreamEntry[] Upstreams { get; }

    /// <param name="health">The members' health (<see cref="OutlierDetection.Members"/>), in the route's order; null: no outlier ejection.</param>
    public static RouteEntry Build(RoutePlan plan, string? host, SslServerAuthenticationOptions? serverTls, string? tlsError,
        string listenerLabel, ICertificateProvider certificates, CircuitBreakers breakers, ImmutableArray<string>.Builder warnings, bool passthrough = false,
        MemberHealth[]? health = null)
    {
        var upstreams = new UpstreamEntry[plan.Upstreams.Length];
        for (var i = 0; i < upstreams.Length; i++)
        {
            var up = plan.Upstreams[i];
            SslClientAuthenticationOptions? clientTls = null;
            string? error = null;
            if (up.Origination is not null)
            {
                clientTls = TlsOptionsFactory.ForOrigination(up.Origination, certificates, out error);
                if (clientTls is null)
                {
                    error = $"{up.Mapping}: TLS origination to {up.Target} cannot be set up ({error ?? "no options"}); its connections are closed";
                    warnings.Add(error);
                }
            }

            upstreams[i] = new UpstreamEntry(up, clientTls, clientTls is null ? error : null, breakers.For(up.ClusterKey), listenerLabel)
            {
                Health = health?[i],
            };
        }

        return new RouteEntry(plan, host, serverTls, tlsError, upstreams, passthrough, health is { Length: > 0 } ? health[0].Group : null);
    }

    /// <summary>
    /// Canary pick: a member with probability share/total; share 0 is never picked. While members are ejected
    /// (<see cref="OutlierDetection"/>) the pick runs over the others, so an ejected member's share goes to them in
    /// proportion to theirs. Null when no member has a share.
    /// </summary>
    public UpstreamEntry? Pick(IRandomSource random)
    {
        if (_totalShare <= 0)
        {
            return null;
        }

        // One read of a shared counter when no member is ejected: the common pick costs what it did without ejection.
        var skipEjected = _outliers?.AnyEjected == true;
        var total = skipEjected ? HealthyShare() : _totalShare;
        if (total <= 0)
        {
            // Every member with a share is ejected (the last one never is, but a plan swap can leave it so): all of them.
            skipEjected = false;
            total = _totalShare;
        }

        var x = random.NextDouble() * total;
        UpstreamEntry? last = null;
        foreach (var up in Upstreams)
        {
            if (up.Plan.Share <= 0 || (skipEjected && up.Health!.IsEjected))
            {
                continue;
            }

            if (x < up.Plan.Share)
            {
                return up;
            }

            x -= up.Plan.Share;
            last = up;
        }

        return last; // floating-point rounding at the very end of the range (or a member ejected during the pick)
    }

    private double HealthyShare()
    {
        var total = 0.0;
        foreach (var up in Upstreams)
        {
            if (up.Plan.Share > 0 && !up.Health!.IsEjected)
            {
                total += up.Plan.Share;
            }
        }

        return total;
    }
}

/// <summary>One canary member with its ready TLS origination options and its cluster's breaker counters.</summary>
internal sealed class UpstreamEntry(UpstreamPlan plan, SslClientAuthenticationOptions? clientTls, string? tlsError, ClusterCounters counters, string listenerLabel)
{
    public UpstreamPlan Plan { get; } = plan;
    public SslClientAuthenticationOptions? ClientTls { get; } = clientTls;

    /// <summary>Set when the plan asks for origination but its options could not be built.</summary>
    public string? TlsError { get; } = tlsError;

    public ClusterCounters Counters { get; } = counters;

    /// <summary>The member's streak and ejection on this edge (<see cref="OutlierDetection"/>); null when the snapshot has no outlier ejection.</summary>
    public MemberHealth? Health { get; init; }

    /// <summary>Parsed once here so that a connection to an IP literal allocates nothing to find its address.</summary>
    public System.Net.IPAddress[]? LiteralAddresses { get; } = UpstreamConnector.LiteralAddresses(plan.Target);

    /// <summary>The IP literal's endpoint, and its native socket address, which the native engine dials as is.</summary>
    public System.Net.IPEndPoint? LiteralEndPoint { get; } =
        UpstreamConnector.LiteralAddresses(plan.Target) is [var literal] ? new System.Net.IPEndPoint(literal, plan.Target.Port) : null;

    /// <summary><see cref="LiteralEndPoint"/> as the one endpoint to dial (the same instance), for the native engine.</summary>
    public System.Net.IPEndPoint[]? LiteralEndPoints => _literalEndPoints ??= LiteralEndPoint is { } e ? [e] : null;

    private System.Net.IPEndPoint[]? _literalEndPoints;

    public System.Net.SocketAddress? LiteralSocketAddress { get; } =
        UpstreamConnector.LiteralAddresses(plan.Target) is [var literal] ? new System.Net.IPEndPoint(literal, plan.Target.Port).Serialize() : null;

    /// <summary><c>namespace/name</c> of the mapping, for the access log.</summary>
    public string MappingLabel { get; } = $"{plan.Mapping.Namespace}/{plan.Mapping.Name}";

    public TagList Tags { get; } = ProxyMetrics.Tags(listenerLabel, plan.StatsName);

    /// <summary>The byte counter's tags, built once per apply rather than kept in every connection.</summary>
    public TagList BytesUpTags { get; } = ProxyMetrics.With(ProxyMetrics.Tags(listenerLabel, plan.StatsName), "direction", "upstream");

    public TagList BytesDownTags { get; } = ProxyMetrics.With(ProxyMetrics.Tags(listenerLabel, plan.StatsName), "direction", "downstream");
}
