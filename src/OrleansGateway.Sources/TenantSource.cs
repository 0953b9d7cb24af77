using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Sources;

/// <summary>
/// One source of tenant resources (the config directory; Kubernetes next) as the tenant grains see it. A source holds,
/// for each tenant it serves, the complete set of resources it has for that tenant and hands that set over whole:
/// <see cref="ApplyAsync"/> applies it per resource (a bad resource is Discarded with its reasons, every good one is
/// served) and prunes what this source gave the tenant before and no longer has. It never touches what another source
/// or the API gave the tenant: each stored resource remembers its source (<see cref="ApplyRequest.Source"/>).
/// </summary>
/// <remarks>
/// A source owns a set of tenants (<see cref="Tenants"/>): <see cref="HoldOnlyAsync"/> withdraws the ones it no longer
/// has. The order is the source's to choose: the config directory applies first and withdraws after; a source whose
/// resources move between tenants (a relabelled namespace) withdraws the old tenant first, so that its listeners are
/// released before the new tenant claims them.
/// </remarks>
public sealed class TenantSource(IGrainFactory grains, string name, string ambassadorId)
{
    private ImmutableSortedSet<string> _tenants = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    /// <summary>The <see cref="ApplyRequest.Source"/> of every apply, e.g. <c>config-dir</c>.</summary>
    public string Name => name;

    /// <summary>The tenants this source holds resources for, as far as it knows: those it applied or said it holds, and did not withdraw.</summary>
    public IReadOnlySet<string> Tenants => _tenants;

    /// <summary>
    /// Makes <paramref name="resources"/> this source's whole content for <paramref name="tenant"/>. The outcome has the
    /// status of every resource of the tenant (whatever its source) after the change.
    /// </summary>
    public async Task<ApplyOutcome> ApplyAsync(string tenant, ImmutableArray<Resource> resources)
    {
        var outcome = await grains.GetTenantGrain(tenant).ApplyAsync(new ApplyRequest(resources, ApplyMode.PerResource, name, Prune: true));
        ImmutableInterlocked.Update(ref _tenants, t => t.Add(tenant));
        return outcome;
    }

    /// <summary>Removes everything this source gave <paramref name="tenant"/> (what other sources gave it stays).</summary>
    public async Task<ApplyOutcome> WithdrawAsync(string tenant)
    {
        var outcome = await grains.GetTenantGrain(tenant).ApplyAsync(new ApplyRequest([], ApplyMode.PerResource, name, Prune: true));
        ImmutableInterlocked.Update(ref _tenants, t => t.Remove(tenant));
        return outcome;
    }

    /// <summary>
    /// Withdraws every tenant this source holds that is not in <paramref name="tenants"/>, then holds
    /// <paramref name="tenants"/> (also those it has not applied to yet, e.g. a tenant whose files cannot be read now).
    /// </summary>
    /// <returns>The withdrawn tenants with their outcomes.</returns>
    public async Task<ImmutableArray<(string Tenant, ApplyOutcome Outcome)>> HoldOnlyAsync(IEnumerable<string> tenants)
    {
        var kept = tenants.ToImmutableSortedSet(StringComparer.Ordinal);
        var withdrawn = ImmutableArray.CreateBuilder<(string, ApplyOutcome)>();
        foreach (var gone in _tenants.Except(kept))
        {
            withdrawn.Add((gone, await WithdrawAsync(gone)));
        }

        ImmutableInterlocked.Update(ref _tenants, t => t.Union(kept));
        return withdrawn.ToImmutable();
    }

    /// <summary>The tenant's resources and statuses as stored now (changed by other sources and arbitration too).</summary>
    public Task<TenantView> GetAsync(string tenant) => grains.GetTenantGrain(tenant).GetAsync();

    /// <summary>
    /// The version of what the edges of this gateway must serve right now: an edge that serves this version or a later
    /// one serves every apply made before the call.
    /// </summary>
    public Task<long> DirectoryVersionAsync() => grains.GetDirectoryGrain(ambassadorId).GetVersionAsync();
}
