using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>
/// Outlier ejection of canary members (docs/tcpmapping-semantics.md, "Outlier ejection"; docs/data-plane.md,
/// "Upstreams"): a member whose connection attempts fail <see cref="FailuresToEject"/> times in a row, or whose active TCP
/// check fails, leaves its group's picks for a while and its share goes to the others. Owned by the server, as the
/// circuit-breaker counts are, so that a member's streak and ejection survive plan swaps; kept per edge, never shared:
/// each edge judges the connects it makes itself.
/// </summary>
internal sealed class OutlierDetection : IDisposable
{
    /// <summary>Failed connection attempts in a row that eject a member.</summary>
    public const int FailuresToEject = 5;

    /// <summary>The first ejection's length; each re-ejection doubles it, up to <see cref="LongestEjection"/>.</summary>
    public static readonly TimeSpan FirstEjection = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan LongestEjection = TimeSpan.FromSeconds(300);

    private readonly ConcurrentDictionary<(ListenerEndpoint Endpoint, string Host), OutlierGroup> _groups = new();
    private readonly CancellationTokenSource _stop = new();

    public OutlierDetection(ProxyMetrics metrics, ILogger log, TimeProvider time)
    {
        Metrics = metrics;
        Log = log;
        Time = time;
    }

    internal ProxyMetrics Metrics { get; }
    internal ILogger Log { get; }
    internal TimeProvider Time { get; }
    internal CancellationToken Stopping => _stop.Token;

    /// <summary>
    /// The members of the group (<paramref name="endpoint"/>, <paramref name="host"/>; null host: the catch-all) as
    /// <paramref name="route"/> has them, in its order. A member keeps its streak and ejection across applies while its
    /// tenant, mapping and service stay; members the route no longer has are forgotten (an ejection ends with them).
    /// </summary>
    public MemberHealth[] Members(ListenerEndpoint endpoint, string? host, RoutePlan route, string listenerLabel, ProxyRuntime runtime)
    {
        var group = _groups.GetOrAdd((endpoint, host ?? ""), static (key, self) => new OutlierGroup(self, key.Endpoint, key.Host.Length == 0 ? null : key.Host), this);
        return group.Use(route, listenerLabel, runtime);
    }

    /// <summary>Forgets the groups that no listener of <paramref name="plan"/> has any more.</summary>
    public void Retain(GatewayPlan plan)
    {
        var wanted = new HashSet<(ListenerEndpoint, string)>();
        foreach (var listener in plan.Listeners)
        {
            foreach (var sni in listener.SniRoutes)
            {
                wanted.Add((listener.Endpoint, sni.Host.Text));
            }

            if (listener.CatchAll is not null)
            {
                wanted.Add((listener.Endpoint, ""));
            }
        }

        foreach (var key in _groups.Keys)
        {
            if (!wanted.Contains(key) && _groups.TryRemove(key, out var gone))
            {
                gone.Retire();
            }
        }
    }

    /// <summary>The members ejected now, for status reports.</summary>
    public ImmutableArray<MemberEjection> Ejections() =>
        [.. _groups.Values.SelectMany(g => g.Ejections()).OrderBy(e => e.Endpoint.ToString(), StringComparer.Ordinal)
            .ThenBy(e => e.Host, StringComparer.Ordinal).ThenBy(e => e.Mapping, StringComparer.Ordinal)];

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var group in _groups.Values)
        {
            group.Retire();
        }

        _stop.Dispose();
    }
}

/// <summary>One member ejected now, as status reports show it.</summary>
/// <param name="Host">The group's SNI host; null for the catch-all (a cleartext port, or what no SNI route takes).</param>
/// <param name="Mapping"><c>namespace/name</c> of the member's TCPMapping.</param>
/// <param name="Reason">Why, e.g. "5 connection attempts in a row failed (last: ...)".</param>
/// <param name="Ejection">The member's ejection count since it last connected (1 for a first ejection).</param>
/// <param name="Until">When the ejection ends; null when it lasts until the member's health check passes.</param>
public sealed record MemberEjection(
    ListenerEndpoint Endpoint,
    string? Host,
    string Tenant,
    string Mapping,
    string Service,
    string Reason,
    int Ejection,
    DateTimeOffset Since,
    DateTimeOffset? Until);

/// <summary>
/// The members of one canary group (listener, host) and their ejections. Picks read <see cref="AnyEjected"/> and each
/// member's <see cref="MemberHealth.IsEjected"/> without a lock; ejecting and restoring, which happen on failures and
/// timers only, take the group's lock so that two members failing at once cannot both leave (the last healthy member
/// stays).
/// </summary>
internal sealed class OutlierGroup(OutlierDetection owner, ListenerEndpoint endpoint, string? host)
{
    private readonly Lock _gate = new();
    private Dictionary<(string Tenant, ResourceRef Mapping, string Service), MemberHealth> _members = [];
    private MemberHealth[] _current = [];
    private int _ejected;
    private bool _passive = true;

    public OutlierDetection Owner { get; } = owner;
    public ListenerEndpoint Endpoint { get; } = endpoint;
    public string? Host { get; } = host;

    /// <summary>Whether any member is ejected now: picks skip the ejected ones only then.</summary>
    public bool AnyEjected => Volatile.Read(ref _ejected) != 0;

    /// <summary>Passive detection is on unless a member of the group's current route says <c>off</c>.</summary>
    public bool Passive => Volatile.Read(ref _passive);

    public MemberHealth[] Use(RoutePlan route, string listenerLabel, ProxyRuntime runtime)
    {
        var members = new MemberHealth[route.Upstreams.Length];
        lock (_gate)
        {
            var next = new Dictionary<(string, ResourceRef, string), MemberHealth>(members.Length);
            for (var i = 0; i < members.Length; i++)
            {
                var plan = route.Upstreams[i];
                var key = (plan.Tenant, plan.Mapping, plan.Service);
                var member = _members.GetValueOrDefault(key) ?? new MemberHealth(this);
                if (!next.TryAdd(key, member))
                {
                    // The same mapping twice in one route cannot come from the compiler; such a copy keeps its own state.
                    member = new MemberHealth(this);
                }

                member.Use(plan, listenerLabel);
                members[i] = member;
            }

            foreach (var (key, old) in _members)
            {
                if (!next.ContainsKey(key))
                {
                    RetireLocked(old);
                }
            }

            _members = next;
            _current = members;
            Volatile.Write(ref _passive, !route.Upstreams.Any(u => u.NoOutlierDetection));
        }

        foreach (var member in members)
        {
            member.CheckWith(runtime);
        }

        return members;
    }

    /// <summary>
    /// Ejects <paramref name="member"/> unless it is the last member with a share that is not ejected. Passive
    /// ejections (<paramref name="untilCheckPasses"/> false) last 30 s, doubled for each ejection since the member last
    /// connected, at most 300 s; a failed health check ejects until a check passes.
    /// </summary>
    public void Eject(MemberHealth member, bool untilCheckPasses, string why)
    {
        MemberEjection ejection;
        TimeSpan? length;
        lock (_gate)
        {
            if (member.Retired || member.IsEjected || !OthersHealthy(member))
            {
                return;
            }

            var now = Owner.Time.GetUtcNow();
            length = untilCheckPasses ? null : EjectionLength(member.Ejections);
            ejection = member.EjectLocked(why, now, length);
            _ejected++;
        }

        Owner.Metrics.Ejections.Add(1, member.Tags);
        Owner.Metrics.Ejected.Add(1, member.Tags);
        ProxyLog.MemberEjected(Owner.Log, LogText.Escape(ejection.Mapping), LogText.Escape(ejection.Tenant), LogText.Escape(ejection.Service),
            Endpoint.ToString(), LogText.Escape(Host ?? "*"), length is { } l ? "for " + Duration.Format(l) : "until its health check passes", LogText.Escape(why));
    }

    /// <summary>Ends <paramref name="member"/>'s ejection (its time is over, or its health check passed); nothing when it is not ejected.</summary>
    public void Restore(MemberHealth member, string why)
    {
        MemberEjection? ended;
        lock (_gate)
        {
            if (member.Retired || !member.IsEjected)
            {
                return;
            }

            ended = member.RestoreLocked();
            _ejected--;
        }

        Owner.Metrics.Ejected.Add(-1, member.Tags);
        ProxyLog.MemberRestored(Owner.Log, LogText.Escape(ended.Mapping), LogText.Escape(ended.Tenant), Endpoint.ToString(), LogText.Escape(Host ?? "*"), why);
    }

    /// <summary>The first ejection lasts <see cref="OutlierDetection.FirstEjection"/>; each one after it twice the one before, at most <see cref="OutlierDetection.LongestEjection"/>.</summary>
    public static TimeSpan EjectionLength(int earlierEjections)
        => earlierEjections >= 4 ? OutlierDetection.LongestEjection
            : TimeSpan.FromTicks(Math.Min(OutlierDetection.FirstEjection.Ticks << earlierEjections, OutlierDetection.LongestEjection.Ticks));

    public IEnumerable<MemberEjection> Ejections()
    {
        lock (_gate)
        {
            return [.. _current.Select(m => m.Current).OfType<MemberEjection>()];
        }
    }

    /// <summary>The group is gone from the plan: every member's ejection and health check end with it.</summary>
    public void Retire()
    {
        lock (_gate)
        {
            foreach (var member in _members.Values)
            {
                RetireLocked(member);
            }

            _members = [];
            _current = [];
        }
    }

    private void RetireLocked(MemberHealth member)
    {
        if (member.IsEjected)
        {
            _ejected--;
            Owner.Metrics.Ejected.Add(-1, member.Tags);
        }

        member.RetireLocked();
    }

    /// <summary>Whether a member other than <paramref name="member"/> with a share above 0 is serving.</summary>
    private bool OthersHealthy(MemberHealth member)
    {
        foreach (var other in _current)
        {
            if (!ReferenceEquals(other, member) && other.Share > 0 && !other.IsEjected)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// One canary member's health on this edge: its streak of failed connection attempts, its ejection, its health
/// check. Fields other than the streak are written under the group's lock; the connection path only reads
/// <see cref="IsEjected"/> and resets the streak.
/// </summary>
internal sealed class MemberHealth(OutlierGroup group)
{
    private int _streak;
    private int _ejected;
    private ITimer? _timer;
    private MemberEjection? _current;
    private UpstreamPlan? _plan;
    private TimeSpan? _checkInterval;
    private CancellationTokenSource? _checks;

    public OutlierGroup Group => group;

    public bool IsEjected => Volatile.Read(ref _ejected) != 0;

    /// <summary>Ejections since the member last connected: the next one lasts longer for each.</summary>
    public int Ejections { get; private set; }

    public bool Retired { get; private set; }

    /// <summary>The member's share in the group's current route.</summary>
    public double Share { get; private set; }

    public TagList Tags { get; private set; }

    public MemberEjection? Current => Volatile.Read(ref _current);

    /// <summary>A connection attempt succeeded: the streak and the ejection count start again (no lock; the connection path).</summary>
    public void Connected()
    {
        if (Volatile.Read(ref _streak) != 0)
        {
            Volatile.Write(ref _streak, 0);
        }

        if (Ejections != 0)
        {
            Ejections = 0;
        }
    }

    /// <summary>A connection attempt failed (every address of the member); the <see cref="OutlierDetection.FailuresToEject"/>th in a row ejects it.</summary>
    public void ConnectFailed(CloseReason failure, string? detail)
    {
        if (group.Passive && Interlocked.Increment(ref _streak) >= OutlierDetection.FailuresToEject)
        {
            group.Eject(this, untilCheckPasses: false,
                $"{OutlierDetection.FailuresToEject} connection attempts in a row failed (last: {failure}{(detail is null ? "" : ": " + detail)})");
        }
    }

    internal void Use(UpstreamPlan plan, string listenerLabel)
    {
        Volatile.Write(ref _plan, plan);
        Share = plan.Share;
        Tags = ProxyMetrics.Tags(listenerLabel, plan.StatsName);
    }

    internal MemberEjection EjectLocked(string why, DateTimeOffset now, TimeSpan? length)
    {
        var plan = _plan!;
        Ejections++;
        _current = new MemberEjection(group.Endpoint, group.Host, plan.Tenant, $"{plan.Mapping.Namespace}/{plan.Mapping.Name}", plan.Service, why,
            Ejections, now, now + length);
        Volatile.Write(ref _streak, 0);
        Volatile.Write(ref _ejected, 1);
        if (length is { } l)
        {
            _timer = group.Owner.Time.CreateTimer(static s => ((MemberHealth)s!).Expired(), this, l, Timeout.InfiniteTimeSpan);
        }

        return _current;
    }

    internal MemberEjection RestoreLocked()
    {
        var ended = _current!;
        _timer?.Dispose();
        _timer = null;
        _current = null;
        Volatile.Write(ref _streak, 0);
        Volatile.Write(ref _ejected, 0);
        return ended;
    }

    internal void RetireLocked()
    {
        Retired = true;
        _timer?.Dispose();
        _timer = null;
        _current = null;
        Volatile.Write(ref _ejected, 0);
        _checks?.Cancel();
        _checks?.Dispose();
        _checks = null;
    }

    private void Expired()
        => group.Restore(this, Volatile.Read(ref _current) is { Until: { } until } ejection
            ? $"its ejection of {Duration.Format(until - ejection.Since)} is over; it is tried again"
            : "its ejection is over; it is tried again");

    /// <summary>Starts, restarts or stops the member's TCP health check after <see cref="Use"/> (outside the group's lock).</summary>
    internal void CheckWith(ProxyRuntime runtime)
    {
        var interval = _plan!.HealthCheckInterval;
        if (interval == _checkInterval || Retired)
        {
            return;
        }

        _checks?.Cancel();
        _checks?.Dispose();
        _checks = null;
        _checkInterval = interval;
        if (interval is { } every)
        {
            _checks = CancellationTokenSource.CreateLinkedTokenSource(group.Owner.Stopping);
            _ = CheckLoopAsync(every, runtime, _checks.Token);
        }
    }

    /// <summary>
    /// A TCP connect to the member now and then every <paramref name="interval"/> (through <see cref="UpstreamConnector"/>,
    /// so the egress rules hold for checks too): a failed one ejects it until one passes; one that passes ends any
    /// ejection of the member at once, before a client is sent there to find out.
    /// </summary>
    private async Task CheckLoopAsync(TimeSpan interval, ProxyRuntime runtime, CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                var plan = Volatile.Read(ref _plan)!;
                var result = await UpstreamConnector.ConnectAsync(plan, UpstreamConnector.LiteralAddresses(plan.Target), runtime).ConfigureAwait(false);
                if (token.IsCancellationRequested)
                {
                    result.Socket?.Dispose();
                    return;
                }

                if (result.Socket is { } socket)
                {
                    socket.Dispose();
                    group.Restore(this, "its health check passed");
                }
                else if (result.Failure != CloseReason.UpstreamForbidden)
                {
                    group.Eject(this, untilCheckPasses: true, $"its TCP health check failed ({result.Failure}{(result.Detail is null ? "" : ": " + result.Detail)})");
                }

                await Task.Delay(interval, runtime.Time, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The member left the plan, its interval changed, or the server stops.
        }
    }
}
