using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains;

/// <summary>One tenant's accepted routes on a listener, with the order of its first claim (earlier owners win).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.TenantClaim")]
public sealed record TenantClaim(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long Sequence,
    [property: Id(2)] ListenerPlan Plan);

[GenerateSerializer, Alias("OrleansGateway.ListenerState")]
public sealed class ListenerState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public long NextSequence { get; set; }
    [Id(2)] public ImmutableArray<TenantClaim> Claims { get; set; } = [];
}

/// <summary>See <see cref="IListenerGrain"/>; the rules are in <see cref="ListenerArbiter"/>.</summary>
public sealed partial class ListenerGrain(
    [PersistentState("listener", GatewayStorage.Name)] IPersistentState<ListenerState> state,
    ILogger<ListenerGrain> logger) : Grain, IListenerGrain
{
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

    private ListenerKey Key => ListenerKey.Parse(this.GetPrimaryKeyString());

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
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

        var claims = state.State.Claims;
        var existing = claims.FirstOrDefault(c => c.Tenant == claim.Tenant);
        var others = claims.Where(c => c.Tenant != claim.Tenant).OrderBy(c => c.Sequence).Select(c => c.Plan).ToList();
        var refused = ImmutableArray<RefusedMapping>.Empty;
        var accepted = claim.Plan is null ? null : ListenerArbiter.Arbitrate(claim.Plan, others, out refused);

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
            var rest = claims.Where(c => c.Tenant != claim.Tenant);
            if (accepted is not null)
            {
                var sequence = existing?.Sequence ?? state.State.NextSequence++;
                rest = rest.Append(new TenantClaim(claim.Tenant, sequence, accepted));
            }

            var (previousClaims, previousVersion) = (state.State.Claims, state.State.Version);
            state.State.Claims = [.. rest.OrderBy(c => c.Sequence)];
            state.State.Version++;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // The activation must keep what storage holds, or it would arbitrate (and publish) a claim never stored.
                // NextSequence may stay advanced: sequences only order claims, gaps are harmless.
                (state.State.Claims, state.State.Version) = (previousClaims, previousVersion);
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
            await GrainFactory.GetDirectoryGrain(key.AmbassadorId).PublishListenerAsync(key, state.State.Version, !state.State.Claims.IsEmpty);
            _publishPending = false;
        }

        return new ClaimOutcome(refused, state.State.Version);
    }

    public Task<ListenerSlice> GetSliceAsync() =>
        Task.FromResult(new ListenerSlice(Key, state.State.Version, ListenerArbiter.Merge([.. state.State.Claims.Select(c => c.Plan)])));

    /// <summary>
    /// A tenant re-sends every listener on each apply; an unchanged claim must not bump the version, or every edge
    /// would re-fetch every listener of the tenant. Plan records hold arrays (reference equality), so compare as JSON.
    /// </summary>
    private static bool SamePlan(ListenerPlan? a, ListenerPlan? b) =>
        a is null || b is null ? a is null && b is null : JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);

    private async Task SyncPortAsync()
    {
        var key = Key;
        await GrainFactory.GetListenerPortGrain(key).SyncAsync(key.Endpoint.Address, [.. state.State.Claims.Select(c => c.Tenant)]);
        _portSynced = true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listener {Listener}: telling its port grain which tenants hold claims failed; the next claim tries again")]
    private static partial void LogSyncFailed(ILogger logger, string listener, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listener {Listener}: {Count} mapping(s) of tenant {Tenant} refused (overlap with another tenant)")]
    private static partial void LogRefused(ILogger logger, string listener, string tenant, int count);
}
