using System.Collections.Concurrent;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Api;

/// <summary>
/// The tenants this process has seen in the registry, so that authentication asks the one registry activation only
/// for a tenant it has not seen (a token of an unknown tenant then still activates no keys grain). Only names are
/// remembered, never a key's validity: every check still asks the tenant's keys grain, so a revoked key, or every
/// key of a deleted tenant (revoked first), fails at once on every silo. A deleted tenant's name left here only costs
/// that grain's answer "no such key".
/// </summary>
internal sealed class KnownTenants(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);

    public async ValueTask<bool> ExistsAsync(string tenant)
    {
        if (_seen.ContainsKey(tenant))
        {
            return true;
        }

        if (await grains.GetTenantRegistry().GetAsync(tenant) is null)
        {
            return false;
        }

        _seen.TryAdd(tenant, true);
        return true;
    }
}
