using Orleans.Concurrency;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// One tenant (key: the tenant id, see <see cref="TenantKey"/>): its resources with their sources and statuses, its
/// quota and its version; persisted. Every change is compiled in the tenant's scope and arbitrated with the listener
/// grains before it is stored.
/// </summary>
[Alias("OrleansGateway.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    [Alias("Apply")]
    Task<ApplyOutcome> ApplyAsync(ApplyRequest request);

    [Alias("Delete")]
    Task<ApplyOutcome> DeleteAsync(DeleteRequest request);

    [Alias("Get")]
    Task<TenantView> GetAsync();

    /// <summary>Every certificate the tenant's certificate grains serve for it: its TLS Secrets and the vault certificates its plan names.</summary>
    [Alias("GetCertificates")]
    Task<System.Collections.Immutable.ImmutableArray<SecretRef>> GetCertificatesAsync();

    /// <summary>Replaces the quota. It applies from the next change on; resources already stored are not re-checked.</summary>
    [Alias("SetQuota")]
    Task SetQuotaAsync(TenantQuota quota);

    /// <summary>
    /// The tenant is deleted, or created again under its name: removes every certificate the certificate source keeps
    /// for it (Key Vault: delete and purge) and empties its certificate grains, so nothing of an earlier tenant of the
    /// name is ever served. Null when done (or when no source is configured); otherwise why not (nothing was skipped
    /// that could still be served only when the source answered). Call after its resources are deleted.
    /// </summary>
    [Alias("PurgeCertificates")]
    Task<string?> PurgeCertificatesAsync();
}

/// <summary>
/// One listener of one installation (key: <see cref="ListenerKey.Value"/>): the claims of every tenant on it, the
/// arbitration between them and the merged slice with its version; persisted.
/// </summary>
[Alias("OrleansGateway.IListenerGrain")]
public interface IListenerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Replaces the tenant's claim with the routes of <paramref name="claim"/> that do not overlap another tenant's
    /// (the earlier owner keeps its routes). With <paramref name="dryRun"/> nothing changes.
    /// </summary>
    [Alias("Claim")]
    Task<ClaimOutcome> ClaimAsync(ListenerClaim claim, bool dryRun);

    /// <summary>The merged listener at its version (<see cref="ListenerAssembly.Merge"/> of every part).</summary>
    [Alias("GetSlice")]
    Task<ListenerSlice> GetSliceAsync();

    /// <summary>
    /// The parts that changed after <paramref name="sinceVersion"/> of <paramref name="lineage"/> (what an edge fetches:
    /// a change of one tenant sends that tenant's routes, not the whole listener); every part when the edge's version
    /// cannot be diffed against (pass <see cref="Guid.Empty"/> for a first fetch).
    /// </summary>
    [Alias("GetChanges")]
    Task<ListenerChanges> GetChangesAsync(Guid lineage, long sinceVersion);
}

/// <summary>
/// The listen addresses tenants hold on one port of one installation (key: <see cref="ListenerKey.ToPortKey"/>), persisted.
/// Listener grains are keyed by address:port, so two tenants on overlapping addresses of one port (<c>0.0.0.0</c> and
/// <c>127.0.0.1</c>, <c>::</c> and anything, <c>::ffff:127.0.0.1</c> and <c>127.0.0.1</c>) would reach two grains; the
/// listener grains ask this one (<see cref="Model.Networks.Addresses.ListenOverlaps"/>), so the second tenant is refused
/// whatever order the claims come in. Only listener grains call it, each for its own address, so a listener grain is
/// the one writer of its address's entry.
/// </summary>
[Alias("OrleansGateway.IListenerPortGrain")]
public interface IListenerPortGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records that <paramref name="tenant"/> listens on <paramref name="address"/>, unless another tenant holds an
    /// overlapping different address (the same address is one listener grain, which arbitrates by SNI). False when
    /// refused; nothing is recorded for a dry run.
    /// </summary>
    [Alias("Reserve")]
    Task<bool> ReserveAsync(string tenant, string address, bool dryRun);

    /// <summary>Forgets that <paramref name="tenant"/> listens on <paramref name="address"/>; idempotent.</summary>
    [Alias("Release")]
    Task ReleaseAsync(string tenant, string address);

    /// <summary>
    /// The listener grain of <paramref name="address"/> says which tenants hold claims there (on activation): the entry
    /// is set to exactly them, which repairs a reservation its grain never stored (a crash between the two writes).
    /// </summary>
    [Alias("Sync")]
    Task SyncAsync(string address, System.Collections.Immutable.ImmutableArray<string> tenants);
}

/// <summary>
/// What the edges of one ambassador id (key) serve: every listener with routes and every certificate, with
/// versions; persisted. Edges subscribe for low latency and poll <see cref="GetChangesAsync"/> as a fallback.
/// </summary>
[Alias("OrleansGateway.IListenerDirectoryGrain")]
public interface IListenerDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Everything, sorted (for /status and tests; edges use <see cref="GetChangesAsync"/>).</summary>
    [Alias("Get")]
    [ReadOnly]
    Task<DirectoryView> GetAsync();

    /// <summary>
    /// What changed after <paramref name="sinceVersion"/> of activation <paramref name="epoch"/>: only the changed
    /// listeners and tenants; everything when <paramref name="epoch"/> is not this activation's (pass
    /// <see cref="Guid.Empty"/> the first time).
    /// </summary>
    [Alias("GetChanges")]
    [ReadOnly]
    Task<DirectoryChanges> GetChangesAsync(Guid epoch, long sinceVersion);

    /// <summary>The version alone: an edge serving it or a later one serves every change published before the call.</summary>
    [Alias("GetVersion")]
    [ReadOnly]
    Task<long> GetVersionAsync();

    /// <summary>Called by a listener grain after each change; <paramref name="hasRoutes"/> false removes it.</summary>
    [Alias("PublishListener")]
    Task PublishListenerAsync(ListenerKey key, long version, bool hasRoutes);

    /// <summary>Called by a certificate grain after each change; a null <paramref name="version"/> removes it.</summary>
    [Alias("PublishCertificate")]
    Task PublishCertificateAsync(SecretRef secret, string? version);

    /// <summary>
    /// Called by a tenant grain when its quota changes and after each of its changes: the tenant's concurrent-connection
    /// limit per edge; null removes it (unlimited). Edges pick it up with the next directory version.
    /// </summary>
    [Alias("PublishConnectionLimit")]
    Task PublishConnectionLimitAsync(string tenant, int? limit);

    /// <summary>
    /// Called by a tenant grain with its connection limit: the canonical entries of its quota's <c>AllowedUpstreams</c>;
    /// null removes them (unlimited). Edges enforce them for every address they dial from the next directory version.
    /// </summary>
    [Alias("PublishAllowedUpstreams")]
    Task PublishAllowedUpstreamsAsync(string tenant, System.Collections.Immutable.ImmutableArray<string>? allowed);

    /// <summary>The ports of every listener with routes (the gateway's own ports: an upstream there would be a loop).</summary>
    [Alias("GetListenerPorts")]
    [ReadOnly]
    Task<System.Collections.Immutable.ImmutableArray<int>> GetListenerPortsAsync();

    /// <summary>Subscribes (or renews) an observer; subscriptions expire, so edges renew them periodically.</summary>
    [Alias("Subscribe")]
    Task SubscribeAsync(IRouteObserver observer);

    [Alias("Unsubscribe")]
    Task UnsubscribeAsync(IRouteObserver observer);
}

/// <summary>An edge's observer of its directory.</summary>
[Alias("OrleansGateway.IRouteObserver")]
public interface IRouteObserver : IGrainObserver
{
    /// <summary>The directory changed to <paramref name="version"/>; the edge pulls what changed.</summary>
    [OneWay]
    [Alias("DirectoryChanged")]
    Task DirectoryChangedAsync(long version);
}

/// <summary>
/// The TLS material of one tenant certificate (key: <see cref="CertificateKey.For"/>), cached with a version hash and
/// published to the directory so edges fetch it only when it changed. The material comes from the tenant's Secret
/// resource (pushed with <see cref="SetAsync"/>) or, when there is none, from the configured certificate source
/// (Key Vault, <see cref="UseSourceAsync"/>), which the grain re-reads on a schedule and on demand.
/// </summary>
[Alias("OrleansGateway.ICertificateGrain")]
public interface ICertificateGrain : IGrainWithStringKey
{
    /// <summary>Stores <paramref name="material"/> of the tenant's Secret resource (null removes whatever the grain holds).</summary>
    [Alias("Set")]
    Task SetAsync(CertificateMaterial? material);

    /// <summary>
    /// The tenant references this certificate and has no Secret resource for it: serve it from the configured source
    /// (reads it now when the grain has no material from there yet). Throws when no source is configured.
    /// </summary>
    [Alias("UseSource")]
    Task<CertificateStatus> UseSourceAsync();

    /// <summary>
    /// The tenant's Secret resource whose key the certificate source keeps (<paramref name="pin"/>, stored by the tenant
    /// grain): serve exactly that version, whatever else the source holds under the name. <paramref name="material"/>
    /// is the pinned material when the caller has it (it just stored it), so it need not be read back.
    /// </summary>
    [Alias("UseStoredSecret")]
    Task<CertificateStatus> UseStoredSecretAsync(CertificatePin pin, CertificateMaterial? material);

    [Alias("Get")]
    Task<CertificateView> GetAsync();

    /// <summary>Reads the source now (on demand; the schedule does the same) and publishes a changed version.</summary>
    [Alias("Refresh")]
    Task<CertificateStatus> RefreshAsync();

    [Alias("GetStatus")]
    Task<CertificateStatus> GetStatusAsync();

    /// <summary>Imports <paramref name="upload"/> into the configured source under this certificate's name, then serves it.</summary>
    [Alias("Import")]
    Task<CertificateStatus> ImportAsync(CertificateUpload upload);
}
