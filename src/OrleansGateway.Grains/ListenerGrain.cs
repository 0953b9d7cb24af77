using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

/// <summary>One tenant's accepted routes on a listener, with the order of its first claim (earlier owners win).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.TenantClaim")]
public sealed record TenantClaim(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long Sequence,
    [property: Id(2)] ListenerPlan Plan);

/// <summary>
/// The listener's index: which tenants hold a claim, in which order, and at which version each claim last changed. The
/// claims themselves are stored one entry per tenant (<see cref="ListenerClaimEntry"/>), so a tenant's change writes its
/// own routes and this small index, not every tenant's routes (docs/scale.md).
/// </summary>
[GenerateSerializer, Alias("OrleansGateway.ListenerState")]
public sealed class ListenerState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public long NextSequence { get; set; }

    /// <summary>Claims stored inline, as builds before the per-tenant entries wrote them; moved to entries on activation.</summary>
    [Id(2)] public ImmutableArray<TenantClaim> Claims { get; set; } = [];

    /// <summary>Every tenant with a claim here, in first-claim order, with the version its claim last changed at.</summary>
    [Id(3)] public ImmutableArray<ListenerClaimIndex> Tenants { get; set; } = [];
}

/// <summary>A tenant of <see cref="ListenerState.Tenants"/>.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ListenerClaimIndex")]
public sealed record ListenerClaimIndex(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long Sequence,
    [property: Id(2)] long Version);

/// <summary>One tenant's claim on one listener, stored under its own key (state <see cref="ListenerGrain.ClaimStateName"/>).</summary>
[GenerateSerializer, Alias("OrleansGateway.ListenerClaimEntry")]
public sealed class ListenerClaimEntry
{
    [Id(0)] public TenantClaim? Claim { get; set; }
}

/// <summary>See <see cref="IListenerGrain"/>; the rules are in <see cref="ListenerArbiter"/>.</summary>
/// <remarks>
/// Storage: the index (<see cref="ListenerState"/>) and one entry per tenant. A change writes the tenant's entry first,
/// then the index; the index is the truth: on activation only the entries of tenants it lists are read (in parallel),
/// so an entry written for a change whose index write failed is ignored (the tenant's own apply is in flight and puts
/// its claim back: docs/reliability.md).
/// </remarks>
public sealed partial class ListenerGrain(
    [PersistentState("listener", GatewayStorage.Name)] IPersistentState<ListenerState> state,
    ILogger<ListenerGrain> logger) : Grain, IListenerGrain
{
    /// <summary>The storage state name of the per-tenant entries.</summary>
    public const string ClaimStateName = "listener-claim";

    /// <summary>
    /// True until the directory has this activation's version: a silo may have died between writing the state and
    /// publishing it, or the publish may have failed. Publishing an unchanged version is a no-op at the directory.
    /// </summary>
    private bool _publishPending = true;

    /// <summary>
    /// True once the port grain was told which tenants hold claims here in this activation (on activation, else before
    /// the first claim): that repairs a reservation recorded there whose claim was never stored here, and records the
    /// claims of state written before port grains existed.
    /// </summary>
    private bool _portSynced;

    /// <summary>The claims of the tenants the index lists, in first-claim order.</summary>
    private ImmutableArray<TenantClaim> _claims = [];

    /// <summary>The stored entry of every tenant read or written in this activation (it carries the storage ETag).</summary>
    private readonly Dictionary<string, GrainState<ListenerClaimEntry>> _entries = new(StringComparer.Ordinal);

    /// <summary>The SNI patterns of every claim in <see cref="_claims"/>, kept up to date claim by claim.</summary>
    private readonly HostPatternSet _taken = new();

    /// <summary>
    /// What each tenant's claim serves (<see cref="ListenerArbiter.Keep"/>), with the version it last changed at in this
    /// activation (the version loaded for parts unchanged since activation); edges fetch the parts changed since theirs.
    /// </summary>
    private Dictionary<string, (ListenerPart Part, long Version)> _parts = new(StringComparer.Ordinal);

    /// <summary>Tenants whose part went away in this activation, with the version it went at (a tenant that claims again leaves).</summary>
    private readonly Dictionary<string, long> _removed = new(StringComparer.Ordinal);

    /// <summary>
    /// Identifies this activation's versions to edges: what was removed before it is not known here, so an edge whose
    /// version came from another activation (or from a state lost and begun again) gets every part.
    /// </summary>
    private readonly Guid _lineage = Guid.NewGuid();

    /// <summary>
    /// True while some stored claim serves less than it claims (claims stored before host names were canonical can
    /// overlap: <see cref="ListenerArbiter.Keep"/>); then a change may free a name for another tenant's part, and every
    /// part is kept again. Otherwise a change touches only the changing tenant's part.
    /// </summary>
    private bool _overlapping;

    /// <summary>The merged slice of the parts at the index version, built once per version (<see cref="GetSliceAsync"/>).</summary>
    private ListenerSlice? _slice;

    private ListenerKey Key => ListenerKey.Parse(this.GetPrimaryKeyString());

    private IGrainStorage Storage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GatewayStorage.Name);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadClaimsAsync();
        KeepParts(state.State.Version);
        try
        {
            await SyncPortAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not fatal to the activation: the first claim syncs again (and fails if the port grain still cannot answer).
            LogSyncFailed(logger, this.GetPrimaryKeyString(), e);
        }
    }

    /// <summary>Reads every listed tenant's entry at once; moves claims stored inline by an earlier build to entries.</summary>
    private async Task LoadClaimsAsync()
    {
        var index = state.State;
        if (!index.Claims.IsEmpty)
        {
            // Written by a build before per-tenant entries: each claim goes to its entry, then the index forgets them.
            foreach (var claim in index.Claims)
            {
                var entry = await EntryAsync(claim.Tenant);
                entry.State = new ListenerClaimEntry { Claim = claim };
                await Storage.WriteStateAsync(ClaimStateName, EntryId(claim.Tenant), entry);
            }

            index.Tenants = [.. index.Claims.OrderBy(c => c.Sequence).Select(c => new ListenerClaimIndex(c.Tenant, c.Sequence, index.Version))];
            _claims = [.. index.Claims.OrderBy(c => c.Sequence)];
            Take(_claims, 1);
            index.Claims = [];
            await state.WriteStateAsync();
            return;
        }

        var entries = await Task.WhenAll(index.Tenants.Select(t => EntryAsync(t.Tenant)));
        _claims = [.. entries.Select(e => e.State?.Claim).OfType<TenantClaim>().OrderBy(c => c.Sequence)];

        // A tenant listed without an entry (its release was stored, the index write after it was not) holds nothing.
        var held = _claims.Select(c => c.Tenant).ToHashSet(StringComparer.Ordinal);
        index.Tenants = [.. index.Tenants.Where(t => held.Contains(t.Tenant))];
        Take(_claims, 1);
    }

    /// <summary>Adds (+1) or removes (-1) the SNI patterns of <paramref name="claims"/> in <see cref="_taken"/>.</summary>
    private void Take(IEnumerable<TenantClaim?> claims, int sign)
    {
        foreach (var route in claims.OfType<TenantClaim>().SelectMany(c => c.Plan.SniRoutes))
        {
            if (sign > 0)
            {
                _taken.Add(route.Host);
            }
            else
            {
                _taken.Remove(route.Host);
            }
        }
    }

    private GrainId EntryId(string tenant) => GrainId.Create("ogw-listener-claim", $"{this.GetPrimaryKeyString()}/{tenant}");

    /// <summary>The tenant's stored entry (read once per activation: a write needs its ETag).</summary>
    private async Task<GrainState<ListenerClaimEntry>> EntryAsync(string tenant)
    {
        if (!_entries.TryGetValue(tenant, out var entry))
        {
            entry = new GrainState<ListenerClaimEntry>(new ListenerClaimEntry());
            await Storage.ReadStateAsync(ClaimStateName, EntryId(tenant), entry);
            _entries[tenant] = entry;
        }

        return entry;
    }

    public async Task<ClaimOutcome> ClaimAsync(ListenerClaim claim, bool dryRun)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var key = Key;
        if (claim.Plan is { } p && p.Endpoint != key.Endpoint)
        {
            throw new ArgumentException($"a claim for {p.Endpoint} was sent to listener {key}.", nameof(claim));
        }

        if (!_portSynced)
        {
            await SyncPortAsync();
        }

        var claims = _claims;
        var existing = claims.FirstOrDefault(c => c.Tenant == claim.Tenant);
        var others = claims.Where(c => c.Tenant != claim.Tenant).Select(c => c.Plan).ToList();
        var refused = ImmutableArray<RefusedMapping>.Empty;
        ListenerPlan? accepted = null;
        if (claim.Plan is not null)
        {
            // Against the other tenants only: the claiming tenant's own patterns are out of the set meanwhile.
            Take([existing], -1);
            try
            {
                accepted = ListenerArbiter.Arbitrate(claim.Plan, others, _taken, out refused);
            }
            finally
            {
                Take([existing], 1);
            }
        }

        // Other listen addresses of this port: another tenant's overlapping address (0.0.0.0 beside 127.0.0.1, ::, an
        // IPv4-mapped spelling) takes the port first, whatever grain the claims arrive at.
        var port = GrainFactory.GetListenerPortGrain(key);
        if (accepted is not null && !await port.ReserveAsync(claim.Tenant, key.Endpoint.Address, dryRun))
        {
            refused = [.. refused, .. ListenerArbiter.RefuseAll(accepted,
                $"listen address {key.Endpoint.Address} overlaps an address another tenant already listens on at port {key.Endpoint.Port} " +
                "(0.0.0.0 takes every IPv4 address, :: every address, and ::ffff:a.b.c.d is a.b.c.d), so only one of them could be bound. " +
                "Listen on the address the port is already used with (TLS ports are shared by SNI name), or use another port.")];
            accepted = null;
        }

        if (!refused.IsEmpty)
        {
            LogRefused(logger, key.Value, claim.Tenant, refused.Length);
        }

        if (dryRun)
        {
            return new ClaimOutcome(refused, state.State.Version);
        }

        if (!SamePlan(existing?.Plan, accepted))
        {
            try
            {
                await StoreAsync(claim.Tenant, existing, accepted);
            }
            catch
            {
                if (existing is null && accepted is not null)
                {
                    // The reservation of a claim never stored; if this fails too, the next activation's sync repairs it.
                    await port.ReleaseAsync(claim.Tenant, key.Endpoint.Address).ConfigureAwait(
                        ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
                }

                throw;
            }

            _publishPending = true;
        }

        if (accepted is null)
        {
            // Idempotent: also releases a reservation left by an earlier attempt that crashed before storing its claim.
            await port.ReleaseAsync(claim.Tenant, key.Endpoint.Address);
        }

        if (_publishPending)
        {
            await GrainFactory.GetDirectoryGrain(key.AmbassadorId).PublishListenerAsync(key, state.State.Version, !_claims.IsEmpty);
            _publishPending = false;
        }

        return new ClaimOutcome(refused, state.State.Version);
    }

    public Task<ListenerSlice> GetSliceAsync()
    {
        if (_slice?.Version != state.State.Version)
        {
            _slice = new ListenerSlice(Key, state.State.Version, ListenerAssembly.Merge(_parts.Values.Select(p => p.Part)));
        }

        return Task.FromResult(_slice);
    }

    public Task<ListenerChanges> GetChangesAsync(Guid lineage, long sinceVersion)
    {
        var version = state.State.Version;
        if (lineage != _lineage || sinceVersion > version)
        {
            return Task.FromResult(new ListenerChanges(Key, _lineage, version, true, [.. _parts.Values.Select(p => p.Part)], []));
        }

        // One pass over the tenants' versions (a few thousand numbers at most), not over their routes.
        return Task.FromResult(new ListenerChanges(Key, _lineage, version, false,
            [.. _parts.Values.Where(p => p.Version > sinceVersion).Select(p => p.Part)],
            [.. _removed.Where(r => r.Value > sinceVersion).Select(r => r.Key)]));
    }

    /// <summary>Every tenant's part again (on activation, and after a change while claims overlap); marks those that changed.</summary>
    private void KeepParts(long version)
    {
        var kept = ListenerArbiter.Keep([.. _claims.Select(c => c.Plan)]);
        var parts = new Dictionary<string, (ListenerPart Part, long Version)>(StringComparer.Ordinal);
        _overlapping = false;
        for (var i = 0; i < _claims.Length; i++)
        {
            var claim = _claims[i];
            _overlapping |= !ReferenceEquals(kept[i], claim.Plan);
            if (kept[i] is not { } plan)
            {
                continue;
            }

            parts[claim.Tenant] = _parts.TryGetValue(claim.Tenant, out var known) && ReferenceEquals(known.Part.Plan, plan)
                ? known
                : (new ListenerPart(claim.Tenant, claim.Sequence, plan), version);
        }

        Forget(parts, version);
        _parts = parts;
    }

    /// <summary>Records the tenants of <see cref="_parts"/> that <paramref name="next"/> no longer has as removed at <paramref name="version"/>.</summary>
    private void Forget(Dictionary<string, (ListenerPart Part, long Version)> next, long version)
    {
        foreach (var tenant in _parts.Keys.Where(t => !next.ContainsKey(t)))
        {
            _removed[tenant] = version;
        }

        foreach (var tenant in next.Keys)
        {
            _removed.Remove(tenant);
        }
    }

    /// <summary>
    /// The parts after <paramref name="tenant"/>'s claim changed to <paramref name="claim"/>. Claims are arbitrated
    /// against every other tenant's, so unless stored claims overlap (<see cref="_overlapping"/>) the new claim is
    /// served whole and no other tenant's part changes: only the tenant's own part is replaced.
    /// </summary>
    private void UpdateParts(string tenant, TenantClaim? claim, long version)
    {
        if (_overlapping)
        {
            KeepParts(version);
            return;
        }

        if (claim is null)
        {
            if (_parts.Remove(tenant))
            {
                _removed[tenant] = version;
            }
        }
        else
        {
            _parts[tenant] = (new ListenerPart(tenant, claim.Sequence, claim.Plan), version);
            _removed.Remove(tenant);
        }
    }

    /// <summary>
    /// Writes the tenant's entry, then the index (a write proportional to the change: this tenant's routes and one index
    /// row per tenant). A failed write puts the activation back to what storage holds, or it would arbitrate (and
    /// publish) a claim never stored. NextSequence may stay advanced: sequences only order claims, gaps are harmless.
    /// </summary>
    private async Task StoreAsync(string tenant, TenantClaim? existing, ListenerPlan? accepted)
    {
        var index = state.State;
        var version = index.Version + 1;
        var claim = accepted is null ? null : new TenantClaim(tenant, existing?.Sequence ?? index.NextSequence++, accepted);
        var entry = await EntryAsync(tenant);
        var previousEntry = entry.State;
        entry.State = new ListenerClaimEntry { Claim = claim };
        try
        {
            if (claim is null)
            {
                await Storage.ClearStateAsync(ClaimStateName, EntryId(tenant), entry);
            }
            else
            {
                await Storage.WriteStateAsync(ClaimStateName, EntryId(tenant), entry);
            }
        }
        catch
        {
            entry.State = previousEntry;
            throw;
        }

        var (previousTenants, previousVersion) = (index.Tenants, index.Version);
        var rest = index.Tenants.Where(t => t.Tenant != tenant);
        index.Tenants = claim is null ? [.. rest] : [.. rest.Append(new ListenerClaimIndex(tenant, claim.Sequence, version)).OrderBy(t => t.Sequence)];
        index.Version = version;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (index.Tenants, index.Version) = (previousTenants, previousVersion);
            throw;
        }

        var others = _claims.Where(c => c.Tenant != tenant);
        _claims = claim is null ? [.. others] : [.. others.Append(claim).OrderBy(c => c.Sequence)];
        Take([existing], -1);
        Take([claim], 1);
        UpdateParts(tenant, claim, version);
    }

    /// <summary>
    /// A tenant re-sends every listener on each apply; an unchanged claim must not bump the version, or every edge
    /// would re-fetch every listener of the tenant. Plan records hold arrays (reference equality), so compare as JSON.
    /// </summary>
    private static bool SamePlan(ListenerPlan? a, ListenerPlan? b) =>
        a is null || b is null ? a is null && b is null : JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);

    private async Task SyncPortAsync()
    {
        var key = Key;
        await GrainFactory.GetListenerPortGrain(key).SyncAsync(key.Endpoint.Address, [.. _claims.Select(c => c.Tenant)]);
        _portSynced = true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listener {Listener}: telling its port grain which tenants hold claims failed; the next claim tries again")]
    private static partial void LogSyncFailed(ILogger logger, string listener, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listener {Listener}: {Count} mapping(s) of tenant {Tenant} refused (overlap with another tenant)")]
    private static partial void LogRefused(ILogger logger, string listener, string tenant, int count);
}
