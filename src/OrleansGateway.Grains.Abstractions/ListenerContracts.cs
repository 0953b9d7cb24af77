using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// What one tenant wants on one listener: the slice of its compiled plan for that endpoint.
/// A null <see cref="Plan"/> (or one without routes) releases the tenant's claim.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ListenerClaim")]
public sealed record ListenerClaim(
    [property: Id(0)] string Tenant,
    [property: Id(1)] ListenerPlan? Plan);

/// <summary>A mapping of the claiming tenant that the listener refused, and why (never naming another tenant's resources).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.RefusedMapping")]
public sealed record RefusedMapping(
    [property: Id(0)] ResourceRef Mapping,
    [property: Id(1)] string Message);

/// <summary>The listener's answer to a claim.</summary>
/// <param name="Refused">Empty when every route of the claim was accepted.</param>
/// <param name="Version">The listener's version after the claim (unchanged for a dry run).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ClaimOutcome")]
public sealed record ClaimOutcome(
    [property: Id(0)] ImmutableArray<RefusedMapping> Refused,
    [property: Id(1)] long Version);

/// <summary>What an edge binds for one listener: the union of the accepted routes of every tenant.</summary>
/// <param name="Plan">Null when no tenant has a route there (the edge unbinds it).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ListenerSlice")]
public sealed record ListenerSlice(
    [property: Id(0)] ListenerKey Key,
    [property: Id(1)] long Version,
    [property: Id(2)] ListenerPlan? Plan);

/// <summary>
/// One tenant's part of a listener: the routes of its claim that the listener serves (<see cref="ListenerAssembly"/>
/// merges the parts into the listener an edge binds).
/// </summary>
/// <param name="Sequence">The order of the tenant's first claim; the earliest part names the listener.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ListenerPart")]
public sealed record ListenerPart(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long Sequence,
    [property: Id(2)] ListenerPlan Plan);

/// <summary>
/// What changed on a listener since the version an edge holds: the parts of the tenants whose routes changed and the
/// tenants that left, or every part (<see cref="Full"/>) when the edge's version is not one this activation of the
/// listener grain can diff against (a first fetch, another activation, a version it never had).
/// </summary>
/// <param name="Lineage">The activation the versions belong to: the edge sends it back with its version.</param>
/// <param name="Version">The listener's version these changes bring the edge to.</param>
/// <param name="Full">True: <see cref="Changed"/> is every part and the edge drops the parts it held.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ListenerChanges")]
public sealed record ListenerChanges(
    [property: Id(0)] ListenerKey Key,
    [property: Id(1)] Guid Lineage,
    [property: Id(2)] long Version,
    [property: Id(3)] bool Full,
    [property: Id(4)] ImmutableArray<ListenerPart> Changed,
    [property: Id(5)] ImmutableArray<string> Removed);

/// <summary>One listener in a directory, with the version of its slice.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DirectoryListener")]
public sealed record DirectoryListener(
    [property: Id(0)] ListenerKey Key,
    [property: Id(1)] long Version);

/// <summary>One certificate in a directory, with the version (hash) of its material.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DirectoryCertificate")]
public sealed record DirectoryCertificate(
    [property: Id(0)] SecretRef Secret,
    [property: Id(1)] string Version);

/// <summary>
/// Everything an edge of one ambassador id must serve: the listeners that have routes and the certificates, each
/// with its version, so an edge fetches only what changed. <see cref="Version"/> grows on every change.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DirectoryView")]
public sealed record DirectoryView(
    [property: Id(0)] long Version,
    [property: Id(1)] ImmutableArray<DirectoryListener> Listeners,
    [property: Id(2)] ImmutableArray<DirectoryCertificate> Certificates)
{
    /// <summary>Concurrent-connection limit per tenant, enforced by each edge (tenants without a limit are absent).</summary>
    [Id(3)]
    public ImmutableDictionary<string, int> ConnectionLimits { get; init; } = ImmutableDictionary<string, int>.Empty;

    /// <summary>
    /// Per tenant, the canonical entries of its quota's <c>AllowedUpstreams</c>, enforced by each edge for every address
    /// it dials (tenants without a restriction are absent).
    /// </summary>
    [Id(4)]
    public ImmutableDictionary<string, ImmutableArray<string>> AllowedUpstreams { get; init; } = ImmutableDictionary<string, ImmutableArray<string>>.Empty;
}
