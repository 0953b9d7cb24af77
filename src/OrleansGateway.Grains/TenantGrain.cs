using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansGateway.Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains;

[GenerateSerializer, Alias("OrleansGateway.TenantState")]
public sealed class TenantState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public ImmutableArray<TenantResource> Resources { get; set; } = [];
    [Id(2)] public TenantQuota Quota { get; set; } = TenantQuota.Unlimited;

    /// <summary>Every listener the tenant may hold a claim on, so that a later change can release it.</summary>
    [Id(3)] public ImmutableArray<ListenerKey> Claimed { get; set; } = [];

    /// <summary>Every Secret pushed to a certificate grain, so that a deleted Secret is removed there too.</summary>
    [Id(4)] public ImmutableArray<SecretRef> Certificates { get; set; } = [];

    /// <summary>
    /// A change began and is not stored yet: its listener claims or Secrets may be out there while
    /// <see cref="Resources"/> still holds the previous ones. The next activation (or change) puts the previous ones back.
    /// </summary>
    [Id(5)] public bool ChangeInFlight { get; set; }
}

/// <summary>
/// See <see cref="ITenantGrain"/>. A change goes: compile the tenant's whole new resource set (with its quota) →
/// (Strict) a dry run of every listener claim, any refusal refuses the change → store the intent (the listeners it
/// may claim, "in flight"; the stored resources stay the previous ones) → claim the listeners of the new plan (Strict:
/// a claim another tenant won meanwhile undoes the claims and refuses) → push its Secrets → release the listeners it
/// no longer has → store the new resources and version. Until that last write the stored state is the previous one
/// and says so; a change that stops on the way (an error, a crash) is undone by the next activation or change, so the
/// tenant is wholly before or wholly after it (docs/reliability.md, "Atomic applies").
/// </summary>
public sealed partial class TenantGrain(
    [PersistentState("tenant", GatewayStorage.Name)] IPersistentState<TenantState> state,
    IOptions<ControlPlaneOptions> options,
    Orleans.Serialization.Serializer serializer,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    /// <summary>Within the 30 s of a grain call; a tenant with more certificates than fit finishes with the next attempt.</summary>
    private static readonly TimeSpan PurgeTimeout = TimeSpan.FromSeconds(25);

    /// <summary>
    /// The allowed upstreams and connection limit the directory acknowledged in this activation: an acknowledged publish
    /// is stored there, so the same values are not sent again with every change (a directory call less per apply on a
    /// start that applies thousands of tenants at once).
    /// </summary>
    private (ImmutableArray<string>? AllowedUpstreams, int? Limit)? _published;

    private string Tenant => this.GetPrimaryKeyString();

    private TimeProvider Time => ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

    /// <summary>A change that stopped on the way (the silo died) is undone before anything else reads the state.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.ChangeInFlight)
        {
            await RecoverAsync();
        }
    }

    private async Task RecoverAsync()
    {
        LogRecovering(logger, Tenant, state.State.Version);
        await RollBackAsync(Snapshot.Of(state.State), state.State.Claimed, await GatewayEndpointsAsync());
    }

    private Task FaultAsync(ApplyStep step) => ServiceProvider.GetService<IApplyFaults>()?.AtAsync(Tenant, step) ?? Task.CompletedTask;

    public Task<ApplyOutcome> ApplyAsync(ApplyRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var incoming = request.Resources.IsDefault ? [] : request.Resources;
        var duplicate = incoming.GroupBy(r => r.Ref).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return Task.FromResult(Refused($"{duplicate.Key} appears {duplicate.Count()} times in one apply; send each resource once."));
        }

        if (state.State.Quota.MaxResourcesPerApply is { } perApply && incoming.Length > perApply)
        {
            return Task.FromResult(Refused(
                $"this apply sends {incoming.Length} resources and tenant '{Tenant}' may send {perApply} in one apply (quota MaxResourcesPerApply); " +
                "split them over several applies, or ask the operator to raise the quota.", DiagnosticCodes.QuotaApplySize));
        }

        var byRef = state.State.Resources.ToDictionary(r => r.Resource.Ref, r => (r.Resource, r.Source));
        if (request.Prune)
        {
            var sent = incoming.Select(r => r.Ref).ToHashSet();
            foreach (var stale in byRef.Where(e => e.Value.Source == request.Source && !sent.Contains(e.Key)).Select(e => e.Key).ToList())
            {
                byRef.Remove(stale);
            }
        }

        foreach (var resource in incoming)
        {
            byRef[resource.Ref] = (resource, request.Source);
        }

        return ChangeAsync(byRef, request.Mode, request.DryRun);
    }

    public Task<ApplyOutcome> DeleteAsync(DeleteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var byRef = state.State.Resources.ToDictionary(r => r.Resource.Ref, r => (r.Resource, r.Source));
        foreach (var target in request.Resources.IsDefault ? [] : request.Resources)
        {
            byRef.Remove(target);
        }

        return ChangeAsync(byRef, request.Mode, request.DryRun);
    }

    public Task<TenantView> GetAsync() =>
        Task.FromResult(new TenantView(Tenant, state.State.Version, state.State.Resources, state.State.Quota));

    public Task<ImmutableArray<SecretRef>> GetCertificatesAsync() => Task.FromResult(state.State.Certificates);

    public async Task<string?> PurgeCertificatesAsync()
    {
        var tenant = Tenant;
        var held = state.State.Certificates.ToHashSet();
        string? problem = null;
        if (ServiceProvider.GetService<ICertificateSource>() is { } source)
        {
            try
            {
                using var cancel = new CancellationTokenSource(PurgeTimeout);
                held.UnionWith(await source.PurgeTenantAsync(tenant, cancel.Token));
            }
            catch (CertificateSourceException e)
            {
                problem = e.Message;
            }
            catch (OperationCanceledException)
            {
                problem = $"{source.Name} did not finish within {PurgeTimeout.TotalSeconds:0} s (what is removed stays removed; the next attempt continues)";
            }
        }

        // Certificate grains keep a source's material in memory: emptied, a tenant created again under the name can
        // never be served what they held, whatever it names.
        await Task.WhenAll(held.Select(r => GrainFactory.GetCertificateGrain(r).SetAsync(null)));
        if (problem is not null)
        {
            LogPurgeFailed(logger, tenant, problem);
        }

        return problem;
    }

    public async Task SetQuotaAsync(TenantQuota quota)
    {
        ArgumentNullException.ThrowIfNull(quota);
        if (quota.AllowedPorts?.FirstOrDefault(r => r.First < 1 || r.Last > 65535 || r.First > r.Last) is { } range)
        {
            throw new ArgumentException($"quota AllowedPorts: the range {range} is not within 1..65535 with first <= last; fix the range.", nameof(quota));
        }

        if (quota.MaxListeners < 0 || quota.MaxMappings < 0 || quota.MaxConcurrentConnections < 0)
        {
            throw new ArgumentException("quota limits must be >= 0 (or null for unlimited).", nameof(quota));
        }

        // Stored canonical, so that every reader (this grain, the edges) compares the same text.
        if (!quota.TryCanonicalize(out var canonical, out var error))
        {
            throw new ArgumentException($"quota {error}", nameof(quota));
        }

        quota = canonical;
        await WriteAsync(s => s.Quota = quota);

        // After the write: a failed publish fails the call, and a retry (or the tenant's next change) publishes again.
        await PublishDataPlaneQuotaAsync();
    }

    private async Task<ApplyOutcome> ChangeAsync(Dictionary<ResourceRef, (Resource Resource, string Source)> next, ApplyMode mode, bool dryRun)
    {
        if (state.State.ChangeInFlight)
        {
            // An earlier change failed and so did its undo: undo it now, so this one starts from what is stored.
            await RecoverAsync();
        }

        var tenant = Tenant;
        var ambassadorId = options.Value.AmbassadorId;
        var source = ServiceProvider.GetService<ICertificateSource>();
        var secretsExternal = source is not null;
        var gateway = await GatewayEndpointsAsync();
        TenantCompilation compiled;
        if (mode == ApplyMode.PerResource)
        {
            (compiled, next) = LastGoodGroups.Compile(tenant, next, state.State.Resources, state.State.Quota, options.Value,
                gateway.Cluster, gateway.ListenerPorts, secretsExternal);
        }
        else
        {
            compiled = TenantCompilation.Compile(tenant, [.. next.Values.Select(v => v.Resource)], state.State.Quota, options.Value,
                gateway.Cluster, gateway.ListenerPorts, secretsExternal);
        }

        // With a certificate source, Secret keys go there and never into grain state (docs/key-vault.md, "Secret resources").
        var keys = source is null ? null : SecretKeys.Read(tenant, next, state.State.Resources, source, Time);
        compiled = keys?.Discard(compiled) ?? compiled;

        if (StateTooLarge(next, compiled) is { } tooLarge)
        {
            return tooLarge;
        }

        var claims = compiled.Plan.Listeners.ToDictionary(l => ListenerKey.For(ambassadorId, l.Endpoint), l => l);
        var releases = state.State.Claimed.Where(k => !claims.ContainsKey(k)).ToList();
        var strict = mode == ApplyMode.Strict;

        if (strict || dryRun)
        {
            var trial = await ClaimAllAsync(tenant, claims, dryRun: true);
            var (statuses, diagnostics) = Merge(compiled, trial);
            var refused = strict && statuses.Any(s => s.State == ResourceState.Discarded);
            if (refused || dryRun)
            {
                if (refused)
                {
                    LogRefused(logger, tenant, statuses.Count(s => s.State == ResourceState.Discarded));
                }

                return new ApplyOutcome(!refused, statuses, diagnostics, state.State.Version);
            }
        }

        if (keys is not null)
        {
            // Only now, when nothing but a concurrent claim can refuse the change: a version stored for a change that is
            // refused after all is named by no Secret, and only the Secret that names a version serves it.
            await keys.StoreAsync(source!);
            if (strict && keys.Unavailable(compiled) is { } unavailable)
            {
                LogRefused(logger, tenant, unavailable.Statuses.Count(s => s.State == ResourceState.Discarded));
                return new ApplyOutcome(false, unavailable.Statuses, unavailable.Diagnostics, state.State.Version);
            }

            (next, compiled) = keys.Apply(next, compiled);
        }

        // The intent: every listener this change may touch joins Claimed and the change is marked in flight, while the
        // stored resources and version stay the previous ones (what is served until the change is certain).
        var before = Snapshot.Of(state.State);
        await WriteAsync(s =>
        {
            s.Claimed = [.. claims.Keys.Union(s.Claimed)];
            s.ChangeInFlight = true;
        });
        await FaultAsync(ApplyStep.Intent);

        // Claims first: the only step another tenant can refuse (a trial reserves nothing). Secrets only once the
        // claims are certain; an edge that gets a new route before its certificate retries the certificate grain.
        ImmutableArray<SecretRef> certificates;
        List<ClaimOutcome> outcomes;
        try
        {
            // The tenant's upstream rules and connection limit reach the edges before any route of this change does
            // (an edge never serves a route without its tenant's rules); unchanged, they are a no-op at the directory.
            await PublishDataPlaneQuotaAsync();
            outcomes = await ClaimAllAsync(tenant, claims, dryRun: false);
            await FaultAsync(ApplyStep.Claimed);
            var (claimedStatuses, claimedDiagnostics) = Merge(compiled, outcomes);
            if (strict && claimedStatuses.Any(s => s.State == ResourceState.Discarded))
            {
                // Another tenant claimed the same host between the trial and now: Strict promises all or nothing, so
                // the previous claims come back (no certificate was pushed yet) and the change is refused.
                await RollBackAsync(before, claims.Keys, gateway);
                LogRefused(logger, tenant, claimedStatuses.Count(s => s.State == ResourceState.Discarded));
                return new ApplyOutcome(false, claimedStatuses, claimedDiagnostics, state.State.Version);
            }

            certificates = await PublishCertificatesAsync(next.Values.Select(v => v.Resource), compiled, secretsExternal, keys?.Stored);
            await FaultAsync(ApplyStep.Certificates);
            await Task.WhenAll(releases.Select(k => GrainFactory.GetListenerGrain(k).ClaimAsync(new ListenerClaim(tenant, null), false)));
            await FaultAsync(ApplyStep.Released);
        }
        catch (Exception e) when (strict)
        {
            // The caller gets the error and retries; Strict must not leave the half-applied change out there meanwhile.
            await TryRollBackAsync(before, claims.Keys, gateway, e);
            throw;
        }

        var (finalStatuses, finalDiagnostics) = Merge(compiled, outcomes);
        await WriteAsync(s =>
        {
            s.Resources = Stored(next, finalStatuses);
            s.Claimed = [.. claims.Keys];
            s.Certificates = certificates;
            s.Version++;
            s.ChangeInFlight = false;
        });
        await FaultAsync(ApplyStep.Committed);

        // A tenant fed by a source other than the API (the config directory) is listed from its first stored change.
        // An empty tenant is not registered again, so that the API's tenant delete (resources first) stays deleted.
        if (!state.State.Resources.IsEmpty)
        {
            await GrainFactory.GetTenantRegistry().EnsureAsync(tenant);
        }

        LogApplied(logger, tenant, state.State.Version, claims.Count, releases.Count);
        return new ApplyOutcome(true, finalStatuses, finalDiagnostics, state.State.Version);
    }

    /// <summary>
    /// Undoes a change that was refused or stopped on the way: every listener it may have touched gets the previous
    /// plan back (or is released), the previous Secrets are pushed again and the previous state is stored, no longer
    /// in flight.
    /// </summary>
    private async Task RollBackAsync(Snapshot before, IEnumerable<ListenerKey> touched, GatewayView gateway)
    {
        var tenant = Tenant;
        var accepted = before.Resources.Where(r => r.Status.State == ResourceState.Accepted).Select(r => r.Resource).ToList();
        var secretsExternal = ServiceProvider.GetService<ICertificateSource>() is not null;
        var previous = TenantCompilation.Compile(tenant, accepted, before.Quota, options.Value, gateway.Cluster, gateway.ListenerPorts, secretsExternal);
        var plans = previous.Plan.Listeners.ToDictionary(l => ListenerKey.For(options.Value.AmbassadorId, l.Endpoint), l => l);
        await Task.WhenAll(touched.Union(before.Claimed).Union(plans.Keys).Select(k =>
            GrainFactory.GetListenerGrain(k).ClaimAsync(new ListenerClaim(tenant, plans.GetValueOrDefault(k)), false)));
        var certificates = await PublishCertificatesAsync(accepted, previous, secretsExternal);
        await PublishDataPlaneQuotaAsync();
        await WriteAsync(s =>
        {
            s.Certificates = certificates;
            s.Resources = before.Resources;
            s.Claimed = [.. plans.Keys];
            s.Version = before.Version;
            s.ChangeInFlight = false;
        });
    }

    /// <summary>Best effort after a failure: if the rollback fails too, the change stays in flight and the next activation or change undoes it.</summary>
    private async Task TryRollBackAsync(Snapshot before, IEnumerable<ListenerKey> touched, GatewayView gateway, Exception cause)
    {
        try
        {
            await RollBackAsync(before, touched, gateway);
        }
        catch (Exception e)
        {
            LogRollBackFailed(logger, Tenant, cause.GetType().Name, e);
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> and stores it; a failed write puts the activation back to the stored state,
    /// so a retry, a read or the next change never sees what storage does not hold.
    /// </summary>
    private async Task WriteAsync(Action<TenantState> change)
    {
        var before = Snapshot.Of(state.State);
        change(state.State);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            before.Restore(state.State);
            throw;
        }
    }

    /// <summary>Every field of <see cref="TenantState"/> (all immutable values), to put back after a failure.</summary>
    private sealed record Snapshot(
        long Version, ImmutableArray<TenantResource> Resources, TenantQuota Quota, ImmutableArray<ListenerKey> Claimed, ImmutableArray<SecretRef> Certificates, bool ChangeInFlight)
    {
        public static Snapshot Of(TenantState s) => new(s.Version, s.Resources, s.Quota, s.Claimed, s.Certificates, s.ChangeInFlight);

        public void Restore(TenantState s)
        {
            s.Version = Version;
            s.Resources = Resources;
            s.Quota = Quota;
            s.Claimed = Claimed;
            s.Certificates = Certificates;
            s.ChangeInFlight = ChangeInFlight;
        }
    }

    private async Task<List<ClaimOutcome>> ClaimAllAsync(string tenant, Dictionary<ListenerKey, ListenerPlan> claims, bool dryRun)
    {
        var calls = claims.Select(c => GrainFactory.GetListenerGrain(c.Key).ClaimAsync(new ListenerClaim(tenant, c.Value), dryRun));
        return [.. await Task.WhenAll(calls)];
    }

    /// <summary>Refused mappings become Discarded with the listener's reason (it never names the other tenant's resources).</summary>
    private static (ImmutableArray<ResourceStatus>, ImmutableArray<Diagnostic>) Merge(TenantCompilation compiled, List<ClaimOutcome> outcomes)
    {
        var refusals = outcomes.SelectMany(o => o.Refused).ToLookup(r => r.Mapping);
        if (refusals.Count == 0)
        {
            return (compiled.Statuses, compiled.Diagnostics);
        }

        var diagnostics = compiled.Diagnostics.ToBuilder();
        var statuses = compiled.Statuses.Select(s =>
        {
            if (!refusals.Contains(s.Resource))
            {
                return s;
            }

            var messages = refusals[s.Resource].Select(r => $"{s.Resource} discarded: {r.Message}").ToList();
            diagnostics.AddRange(messages.Select(m => new Diagnostic(Severity.Error, DiagnosticCodes.ListenerClaimRefused, m, s.Resource, s.Source)));
            return s with { State = ResourceState.Discarded, Messages = [.. s.Messages, .. messages] };
        });
        return ([.. statuses], diagnostics.ToImmutable());
    }

    private static ImmutableArray<TenantResource> Stored(Dictionary<ResourceRef, (Resource Resource, string Source)> next, ImmutableArray<ResourceStatus> statuses)
    {
        var byRef = statuses.ToDictionary(s => s.Resource);
        return [.. next.OrderBy(e => e.Key.Kind, StringComparer.Ordinal).ThenBy(e => e.Key.Namespace, StringComparer.Ordinal).ThenBy(e => e.Key.Name, StringComparer.Ordinal)
            .Select(e => new TenantResource(e.Value.Resource, e.Value.Source, byRef[e.Key]))];
    }

    /// <summary>
    /// Pushes every usable Secret of the tenant to its certificate grain (a Secret whose key the certificate source keeps
    /// as its pin, with the material of <paramref name="stored"/> when this change stored it); with a certificate source (Key Vault), points
    /// the certificate grains of the plan's certificates that have no Secret resource at it (the chain of
    /// docs/key-vault.md); clears the ones that are gone.
    /// </summary>
    private async Task<ImmutableArray<SecretRef>> PublishCertificatesAsync(
        IEnumerable<Resource> resources, TenantCompilation compiled, bool sourceConfigured, IReadOnlyDictionary<SecretRef, CertificateMaterial>? stored = null)
    {
        var accepted = compiled.Statuses.Where(s => s.State == ResourceState.Accepted).Select(s => s.Resource).ToHashSet();
        var all = resources.OfType<SecretResource>().ToList();
        var secrets = all
            .Where(s => accepted.Contains(s.Ref) && (s.TlsCrt is not null || s.CaCrt is not null))
            .ToDictionary(s => new SecretRef(s.Namespace, s.Name) { Tenant = Tenant }, s => s);

        // A Secret resource that exists but is unusable is not replaced by the vault: its status says what to fix.
        var declared = all.Select(s => new SecretRef(s.Namespace, s.Name) { Tenant = Tenant }).ToHashSet();
        // Only certificates with keys come from a source; CAs (ca_secret) come from Secret resources only (docs/key-vault.md).
        var sourced = sourceConfigured ? compiled.Plan.SecretUses().Secrets(withKeyOnly: true).Where(r => !declared.Contains(r)).ToList() : [];
        var gone = state.State.Certificates.Where(r => !secrets.ContainsKey(r) && !sourced.Contains(r));
        await Task.WhenAll(
            secrets.Select(s => SecretKeyMarker.ReadKept(s.Value.TlsKey) is { } pin
                    ? (Task)GrainFactory.GetCertificateGrain(s.Key).UseStoredSecretAsync(pin, stored?.GetValueOrDefault(s.Key))
                    : GrainFactory.GetCertificateGrain(s.Key).SetAsync(new CertificateMaterial(s.Value.Type, s.Value.TlsCrt, s.Value.TlsKey, s.Value.CaCrt)))
                .Concat(sourced.Select(r => (Task)GrainFactory.GetCertificateGrain(r).UseSourceAsync()))
                .Concat(gone.Select(r => GrainFactory.GetCertificateGrain(r).SetAsync(null))));
        return [.. secrets.Keys, .. sourced];
    }

    /// <summary>
    /// The data plane enforces the connection limit and the allowed upstreams on each edge, so they go out through the
    /// directory with the routes, before the claims (an edge never serves a route without its tenant's upstream rules).
    /// Also sent with the first change of each activation (a no-op at the directory when unchanged), so a publish lost
    /// with a silo catches up; later changes send them only when they differ from what the directory acknowledged.
    /// </summary>
    private async Task PublishDataPlaneQuotaAsync()
    {
        var (allowed, limit) = (state.State.Quota.AllowedUpstreams, state.State.Quota.MaxConcurrentConnections);
        if (_published is var (publishedAllowed, publishedLimit) && publishedLimit == limit
            && (publishedAllowed is { } a ? allowed is { } b && a.SequenceEqual(b) : allowed is null))
        {
            return;
        }

        _published = null;
        var directory = GrainFactory.GetDirectoryGrain(options.Value.AmbassadorId);
        await directory.PublishAllowedUpstreamsAsync(Tenant, allowed);
        await directory.PublishConnectionLimitAsync(Tenant, limit);
        _published = (allowed, limit);
    }

    /// <summary>The gateway's own endpoints and every listener's port, which the compile keeps tenants away from.</summary>
    private async Task<GatewayView> GatewayEndpointsAsync()
    {
        var cluster = GrainFactory.GetClusterEndpointsGrain().GetAsync();
        var ports = GrainFactory.GetDirectoryGrain(options.Value.AmbassadorId).GetListenerPortsAsync();
        return new GatewayView(await cluster, await ports);
    }

    private sealed record GatewayView(ClusterEndpoints Cluster, ImmutableArray<int> ListenerPorts);

    private ApplyOutcome Refused(string message, string code = DiagnosticCodes.ApplyInvalid) =>
        new(false, [.. state.State.Resources.Select(r => r.Status)], [new Diagnostic(Severity.Error, code, message)], state.State.Version);

    /// <summary>
    /// The refusal of a change whose stored resources would be over quota MaxStateBytes (measured as the grain storage
    /// serializes them, before compression); null when within it. In every mode: storage cannot take what it cannot
    /// hold, and the state that is stored stays served.
    /// </summary>
    private ApplyOutcome? StateTooLarge(Dictionary<ResourceRef, (Resource Resource, string Source)> next, TenantCompilation compiled)
    {
        if (state.State.Quota.MaxStateBytes is not { } max)
        {
            return null;
        }

        var size = serializer.SerializeToArray(Stored(next, compiled.Statuses)).Length;
        return size <= max ? null : Refused(
            $"tenant '{Tenant}' would store {size} bytes of resources and may store {max} (quota MaxStateBytes); delete resources " +
            "(large Secrets first), or ask the operator to raise the quota. Nothing changed.", DiagnosticCodes.QuotaStateSize);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: its certificates could not be removed from the certificate source: {Problem}")]
    private static partial void LogPurgeFailed(ILogger logger, string tenant, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: change refused ({Discarded} resource(s) would be discarded)")]
    private static partial void LogRefused(ILogger logger, string tenant, int discarded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: a Strict change failed ({Cause}) and its rollback failed too; the next activation or change undoes it")]
    private static partial void LogRollBackFailed(ILogger logger, string tenant, string cause, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: a change stopped before it was stored; putting version {Version} back on its listeners and certificates")]
    private static partial void LogRecovering(ILogger logger, string tenant, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant} is at version {Version}: {Listeners} listener(s) claimed, {Released} released")]
    private static partial void LogApplied(ILogger logger, string tenant, long version, int listeners, int released);
}
