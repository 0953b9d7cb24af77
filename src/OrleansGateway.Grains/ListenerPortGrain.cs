using System.Collections.Immutable;
using System.Net;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Networks;

namespace OrleansGateway.Grains;

[GenerateSerializer, Alias("OrleansGateway.ListenerPortState")]
public sealed class ListenerPortState
{
    /// <summary>Listen address (as in the listener key) → the tenants with a claim there.</summary>
    [Id(0)] public Dictionary<string, ImmutableArray<string>> Holders { get; set; } = [];
}

/// <summary>See <see cref="IListenerPortGrain"/>.</summary>
public sealed class ListenerPortGrain(
    [PersistentState("port", GatewayStorage.Name)] IPersistentState<ListenerPortState> state) : Grain, IListenerPortGrain
{
    public async Task<bool> ReserveAsync(string tenant, string address, bool dryRun)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(address);
        var holders = state.State.Holders;
        if (holders.Any(h => h.Key != address && h.Value.Any(t => t != tenant) && Overlap(h.Key, address)))
        {
            return false;
        }

        var held = holders.GetValueOrDefault(address, []);
        if (!dryRun && !held.Contains(tenant))
        {
            await WriteAsync(address, held.Add(tenant));
        }

        return true;
    }

    public Task ReleaseAsync(string tenant, string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(address);
        return state.State.Holders.TryGetValue(address, out var held) && held.Contains(tenant)
            ? WriteAsync(address, held.Remove(tenant))
            : Task.CompletedTask;
    }

    public Task SyncAsync(string address, ImmutableArray<string> tenants)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var wanted = tenants.IsDefault ? [] : tenants.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToImmutableArray();
        var held = state.State.Holders.GetValueOrDefault(address, []);
        return held.Order(StringComparer.Ordinal).SequenceEqual(wanted) ? Task.CompletedTask : WriteAsync(address, wanted);
    }

    /// <summary>
    /// Addresses that are not IP literals never reach a grain (the compiler refuses them); if one did, it is compared as
    /// text only (the data plane refuses to bind it).
    /// </summary>
    private static bool Overlap(string a, string b) =>
        IPAddress.TryParse(a, out var x) && IPAddress.TryParse(b, out var y) ? Addresses.ListenOverlaps(x, y) : a == b;

    /// <summary>Changes memory only together with a successful write (docs/control-plane.md, "Failed writes").</summary>
    private async Task WriteAsync(string address, ImmutableArray<string> tenants)
    {
        var holders = state.State.Holders;
        var previous = holders.TryGetValue(address, out var known) ? known : (ImmutableArray<string>?)null;
        if (tenants.IsEmpty)
        {
            holders.Remove(address);
        }
        else
        {
            holders[address] = tenants;
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            if (previous is { } p)
            {
                holders[address] = p;
            }
            else
            {
                holders.Remove(address);
            }

            throw;
        }
    }
}
