using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Networks;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>What a refused or partially bad change does.</summary>
[Alias("OrleansGateway.ApplyMode")]
public enum ApplyMode
{
    /// <summary>
    /// The API's mode: if any resource of the tenant would be Discarded, or any listener claim refused, the whole
    /// request is refused with the diagnostics and nothing is persisted.
    /// </summary>
    Strict,

    /// <summary>
    /// Sources that cannot be refused (the config directory, later Kubernetes): everything is persisted, each bad
    /// resource is stored as Discarded with its reasons, every good one is served.
    /// </summary>
    PerResource,
}

/// <summary>Creates or replaces resources of one tenant (by kind, namespace and name).</summary>
/// <param name="Source">Who applies, e.g. <c>api</c> or <c>config-dir</c>; remembered per resource for <see cref="Prune"/>.</param>
/// <param name="Prune">Also delete the tenant's resources last applied from <see cref="Source"/> that are absent
/// from <see cref="Resources"/> (a source that always sends its whole content, like the config directory).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ApplyRequest")]
public sealed record ApplyRequest(
    [property: Id(0)] ImmutableArray<Resource> Resources,
    [property: Id(1)] ApplyMode Mode,
    [property: Id(2)] string Source,
    [property: Id(3)] bool DryRun = false,
    [property: Id(4)] bool Prune = false);

/// <summary>Deletes resources of one tenant. Deleting a resource releases its listener claims.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.DeleteRequest")]
public sealed record DeleteRequest(
    [property: Id(0)] ImmutableArray<ResourceRef> Resources,
    [property: Id(1)] ApplyMode Mode,
    [property: Id(2)] bool DryRun = false);

/// <summary>The result of an apply or delete.</summary>
/// <param name="Accepted">False when a <see cref="ApplyMode.Strict"/> change was refused (nothing was persisted).</param>
/// <param name="Statuses">Every resource of the tenant after the change (or as it would be after it, when refused
/// or a dry run), sorted by kind, namespace, name.</param>
/// <param name="Diagnostics">Every finding, including listener-claim and quota refusals.</param>
/// <param name="Version">The tenant's version after the change (unchanged when refused or a dry run).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ApplyOutcome")]
public sealed record ApplyOutcome(
    [property: Id(0)] bool Accepted,
    [property: Id(1)] ImmutableArray<ResourceStatus> Statuses,
    [property: Id(2)] ImmutableArray<Diagnostic> Diagnostics,
    [property: Id(3)] long Version);

/// <summary>One resource of a tenant as stored, with its status.</summary>
/// <param name="Source">The source of its last apply (<see cref="ApplyRequest.Source"/>).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.TenantResource")]
public sealed record TenantResource(
    [property: Id(0)] Resource Resource,
    [property: Id(1)] string Source,
    [property: Id(2)] ResourceStatus Status);

/// <summary>A tenant's persisted state as the API shows it.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.TenantView")]
public sealed record TenantView(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long Version,
    [property: Id(2)] ImmutableArray<TenantResource> Resources,
    [property: Id(3)] TenantQuota Quota);

/// <summary>An inclusive range of TCP ports.</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.PortRange")]
public sealed record PortRange([property: Id(0)] int First, [property: Id(1)] int Last)
{
    public bool Contains(int port) => port >= First && port <= Last;

    public override string ToString() => First == Last ? $"{First}" : $"{First}-{Last}";
}

/// <summary>
/// Limits of one tenant, enforced when the tenant applies (and, for connections and upstream addresses, by the data
/// plane). A null list is unlimited; an empty list grants nothing. A null number is no limit.
/// </summary>
/// <param name="AllowedPorts">Ports the tenant's Listeners and TCPMappings may use; null = any port.</param>
/// <param name="MaxListeners">Listeners (address:port) the tenant's plan may have.</param>
/// <param name="MaxMappings">TCPMappings the tenant may have (whatever their status).</param>
/// <param name="MaxConcurrentConnections">Open client connections of the tenant on each edge; enforced by the data plane
/// (the tenant grain publishes it through the listener directory), not when applying.</param>
/// <param name="AllowedUpstreams">Address ranges and host globs the tenant's upstreams may reach, canonical
/// (<see cref="Model.Networks.UpstreamPolicy"/>); null = any. Checked when applying and, for every resolved address, by
/// the data plane (published through the listener directory like the connection limit).</param>
/// <param name="AllowedHosts">Host globs, canonical (<see cref="Model.Hosts.HostPattern"/>), that must cover every SNI
/// name the tenant claims (TCPMapping host, Host hostname, TLSContext hosts); a host-less catch-all on a TLS-inspected
/// listener needs <c>*</c>. Null = any.</param>
/// <remarks>
/// State stored before <see cref="AllowedUpstreams"/> and <see cref="AllowedHosts"/> existed reads them as null: such a
/// tenant keeps reaching and claiming what it could when its quota was set, until an admin sets its quota again.
/// </remarks>
[GenerateSerializer, Immutable, Alias("OrleansGateway.TenantQuota")]
public sealed record TenantQuota(
    [property: Id(0)] ImmutableArray<PortRange>? AllowedPorts = null,
    [property: Id(1)] int? MaxListeners = null,
    [property: Id(2)] int? MaxMappings = null,
    [property: Id(3)] int? MaxConcurrentConnections = null,
    [property: Id(4)] ImmutableArray<string>? AllowedUpstreams = null,
    [property: Id(5)] ImmutableArray<string>? AllowedHosts = null)
{
    /// <summary>Everything (the config directory's tenants, and any tenant an admin makes unlimited explicitly).</summary>
    public static readonly TenantQuota Unlimited = new();

    /// <summary>Nothing: no port, no upstream, no host name (a tenant created through the API without a quota).</summary>
    public static readonly TenantQuota DenyAll = new(AllowedPorts: [], AllowedUpstreams: [], AllowedHosts: []);

    /// <summary>
    /// This quota with <see cref="AllowedUpstreams"/> and <see cref="AllowedHosts"/> in canonical form, as they are stored
    /// and compared; otherwise <paramref name="error"/> names the entry (<c>allowedHosts[1]: ...</c>) and why.
    /// </summary>
    public bool TryCanonicalize([NotNullWhen(true)] out TenantQuota? canonical, [NotNullWhen(false)] out string? error)
    {
        canonical = null;
        if (!UpstreamPolicy.TryParse(AllowedUpstreams?.ToList(), out var upstreams, out var upstreamError))
        {
            error = $"allowedUpstreams{upstreamError}";
            return false;
        }

        var hosts = ImmutableArray.CreateBuilder<string>();
        for (var i = 0; i < (AllowedHosts?.Length ?? 0); i++)
        {
            if (!HostPattern.TryParse(AllowedHosts!.Value[i], out var pattern, out var hostError))
            {
                error = $"allowedHosts[{i}]: {hostError} Give host globs such as db.example.com, *.example.com or *.";
                return false;
            }

            hosts.Add(pattern.Text);
        }

        canonical = this with { AllowedUpstreams = upstreams.Entries, AllowedHosts = AllowedHosts is null ? null : hosts.ToImmutable() };
        error = null;
        return true;
    }

    // Bounded input (issue 14; docs/api.md "Limits"). Each null is unlimited; the API gives every one a request leaves
    // out its default (InputLimits), so a tenant created through the API is bounded unless the admin says otherwise.

    /// <summary>Resources one apply may send.</summary>
    [Id(20)] public int? MaxResourcesPerApply { get; init; }

    /// <summary>Listener resources the tenant may have (whatever their status).</summary>
    [Id(21)] public int? MaxListenerResources { get; init; }

    [Id(22)] public int? MaxHosts { get; init; }

    [Id(23)] public int? MaxTlsContexts { get; init; }

    [Id(24)] public int? MaxSecrets { get; init; }

    [Id(25)] public int? MaxModules { get; init; }

    /// <summary>Bytes of the tenant's stored state (its resources and their statuses, serialized, before compression).</summary>
    [Id(26)] public int? MaxStateBytes { get; init; }

    /// <summary>This quota with <see cref="InputLimits"/>' default for each bounded-input limit that is null.</summary>
    public TenantQuota WithInputDefaults() => this with
    {
        MaxResourcesPerApply = MaxResourcesPerApply ?? InputLimits.ResourcesPerApply,
        MaxListenerResources = MaxListenerResources ?? InputLimits.ListenerResources,
        MaxHosts = MaxHosts ?? InputLimits.Hosts,
        MaxTlsContexts = MaxTlsContexts ?? InputLimits.TlsContexts,
        MaxSecrets = MaxSecrets ?? InputLimits.Secrets,
        MaxModules = MaxModules ?? InputLimits.Modules,
        MaxStateBytes = MaxStateBytes ?? InputLimits.StateBytes,
    };
}

/// <summary>
/// The defaults of the bounded-input limits of <see cref="TenantQuota"/>: far above what one application's routes
/// need, low enough that no tenant can make its grain, the listener grains or storage slow for the others.
/// </summary>
public static class InputLimits
{
    public const int ResourcesPerApply = 1_000;
    public const int ListenerResources = 100;
    public const int Hosts = 1_000;
    public const int TlsContexts = 1_000;
    public const int Secrets = 1_000;
    public const int Modules = 10;

    /// <summary>4 MiB (the API's body limit): some 10,000 TCPMappings, about 400 KB once compressed in storage.</summary>
    public const int StateBytes = 4 * 1024 * 1024;
}
