using System.Collections.Immutable;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// What the directory holds for one tenant, whole: its certificates with their versions, its connection limit per
/// edge and its allowed upstreams. In <see cref="DirectoryChanges"/> an empty entry (<see cref="IsEmpty"/>) means the
/// tenant has nothing any more: the edge forgets it.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DirectoryTenant")]
public sealed record DirectoryTenant(
    [property: Id(0)] string Tenant,
    [property: Id(1)] ImmutableArray<DirectoryCertificate> Certificates,
    [property: Id(2)] int? ConnectionLimit,
    [property: Id(3)] ImmutableArray<string>? AllowedUpstreams)
{
    public bool IsEmpty => Certificates.IsDefaultOrEmpty && ConnectionLimit is null && AllowedUpstreams is null;
}

/// <summary>
/// The answer to <see cref="IListenerDirectoryGrain.GetChangesAsync"/>: what changed in the directory after the version
/// the edge has, or (<see cref="Full"/>) everything. A changed tenant comes whole, so an edge that missed any number of
/// notifications still ends up with every tenant's current entry: it asks with the version it applied last.
/// </summary>
/// <param name="Epoch">The directory activation that answered; an edge that asks with another epoch gets everything.</param>
/// <param name="Version">The directory's version; the edge asks with it next time.</param>
/// <param name="Full">True: the edge replaces what it has with this (a new activation, or the edge's first call).</param>
/// <param name="Listeners">Every listener with routes (full), or those whose version changed.</param>
/// <param name="RemovedListeners">Listeners that lost their last route since (empty when full).</param>
/// <param name="Tenants">Every tenant with an entry (full), or those whose entry changed, empty ones removed.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DirectoryChanges")]
public sealed record DirectoryChanges(
    [property: Id(0)] Guid Epoch,
    [property: Id(1)] long Version,
    [property: Id(2)] bool Full,
    [property: Id(3)] ImmutableArray<DirectoryListener> Listeners,
    [property: Id(4)] ImmutableArray<ListenerKey> RemovedListeners,
    [property: Id(5)] ImmutableArray<DirectoryTenant> Tenants);
