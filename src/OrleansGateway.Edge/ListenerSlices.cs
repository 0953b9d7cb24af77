using System.Collections.Immutable;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Edge;

/// <summary>
/// An edge's copy of the listeners of its ambassador id: per listener the tenants' parts (<see cref="ListenerAssembly"/>)
/// and the listener grain's lineage and version they are at. A listener whose version changed sends the parts changed
/// since the edge's version (<see cref="IListenerGrain.GetChangesAsync"/>), so a change of one tenant on a port shared
/// by thousands moves that tenant's routes over the wire and through the merge, not every tenant's. Immutable: the
/// route cache keeps the copy the data plane took and builds the next one from it.
/// </summary>
internal sealed class ListenerSlices
{
    private readonly ImmutableDictionary<ListenerKey, Slice> _slices;

    private ListenerSlices(ImmutableDictionary<ListenerKey, Slice> slices) => _slices = slices;

    public static ListenerSlices Empty { get; } = new(ImmutableDictionary<ListenerKey, Slice>.Empty);

    /// <summary>The listeners that have routes, each once, by address then port.</summary>
    public IEnumerable<ListenerPlan> Plans => _slices.Values
        .Select(s => s.Assembly.Plan)
        .OfType<ListenerPlan>()
        .OrderBy(l => l.Endpoint.Address, StringComparer.Ordinal)
        .ThenBy(l => l.Endpoint.Port);

    /// <summary>The version of each listener this copy is at.</summary>
    public long? VersionOf(ListenerKey key) => _slices.TryGetValue(key, out var slice) ? slice.Version : null;

    /// <summary>The assembly of a listener (tests and the data plane's change of it); null when not held.</summary>
    public ListenerAssembly? AssemblyOf(ListenerKey key) => _slices.TryGetValue(key, out var slice) ? slice.Assembly : null;

    /// <summary>
    /// Every Secret the held listeners use: the union of each tenant part's Secrets, each walked once when its part
    /// arrived (a change does not walk every route again).
    /// </summary>
    public HashSet<SecretRef> Secrets()
    {
        var secrets = new HashSet<SecretRef>();
        foreach (var slice in _slices.Values)
        {
            foreach (var part in slice.Secrets.Values)
            {
                secrets.UnionWith(part);
            }
        }

        return secrets;
    }

    /// <summary>
    /// This copy brought to the listeners of <paramref name="listeners"/>: those not listed are dropped, those whose
    /// version differs fetch their changes (every part when this copy has none, or when the grain cannot diff).
    /// </summary>
    public async Task<ListenerSlices> FetchAsync(IGrainFactory grains, IEnumerable<DirectoryListener> listeners)
    {
        var wanted = listeners.ToList();
        var changed = wanted.Where(l => !_slices.TryGetValue(l.Key, out var known) || known.Version != l.Version).ToList();
        var fetched = await Task.WhenAll(changed.Select(l =>
        {
            var known = _slices.GetValueOrDefault(l.Key);
            return grains.GetListenerGrain(l.Key).GetChangesAsync(known?.Lineage ?? Guid.Empty, known?.Version ?? -1);
        })).ConfigureAwait(false);

        var slices = ImmutableDictionary.CreateBuilder<ListenerKey, Slice>();
        foreach (var listener in wanted)
        {
            if (_slices.TryGetValue(listener.Key, out var known))
            {
                slices[listener.Key] = known;
            }
        }

        foreach (var changes in fetched)
        {
            var known = changes.Full ? Slice.Empty : slices.GetValueOrDefault(changes.Key) ?? Slice.Empty;
            slices[changes.Key] = known.With(changes);
        }

        return new ListenerSlices(slices.ToImmutable());
    }

    /// <param name="Secrets">The Secrets of each tenant's part.</param>
    private sealed record Slice(Guid Lineage, long Version, ListenerAssembly Assembly, ImmutableDictionary<string, ImmutableArray<SecretRef>> Secrets)
    {
        public static Slice Empty { get; } = new(Guid.Empty, -1, ListenerAssembly.Empty, ImmutableDictionary.Create<string, ImmutableArray<SecretRef>>(StringComparer.Ordinal));

        public Slice With(ListenerChanges changes)
        {
            var secrets = Secrets.RemoveRange(changes.Removed)
                .SetItems(changes.Changed.Select(p => KeyValuePair.Create(p.Tenant, ImmutableArray.CreateRange(p.Plan.SecretUses().Secrets()))));
            return new Slice(changes.Lineage, changes.Version, Assembly.With(changes.Changed, changes.Removed), secrets);
        }
    }
}
