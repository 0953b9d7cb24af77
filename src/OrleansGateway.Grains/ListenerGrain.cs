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

    private ListenerKey Key => ListenerKey.Parse(this.GetPrimaryKeyString());

    public async Task<ClaimOutcome> ClaimAsync(ListenerClaim claim, bool dryRun)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var key = Key;
        if (claim.Plan is { } p && p.Endpoint != key.Endpoint)
        {
            throw new ArgumentException($"a claim for {p.Endpoint} was sent to listener {key}.", nameof(claim));
        }

        var claims = state.State.Claims;
        var existing = claims.FirstOrDefault(c => c.Tenant == claim.Tenant);
        var others = claims.Where(c => c.Tenant != claim.Tenant).OrderBy(c => c.Sequence).Select(c => c.Plan).ToList();
        var refused = ImmutableArray<RefusedMapping>.Empty;
        var accepted = claim.Plan is null ? null : ListenerArbiter.Arbitrate(claim.Plan, others, out refused);
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
                throw;
            }

            _publishPending = true;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Listener {Listener}: {Count} mapping(s) of tenant {Tenant} refused (overlap with another tenant)")]
    private static partial void LogRefused(ILogger logger, string listener, string tenant, int count);
}
