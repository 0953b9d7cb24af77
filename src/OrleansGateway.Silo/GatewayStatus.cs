using System.Collections.Frozen;
using System.Collections.Immutable;
using OrleansGateway.Certificates;
using OrleansGateway.Edge;
using OrleansGateway.Grains;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;
using OrleansGateway.Reporting;
using OrleansGateway.Sources.ConfigDirectory;

namespace OrleansGateway.Silo;

/// <summary>One tenant's part of <c>/status</c> when several tenants are served.</summary>
internal sealed record TenantStatusReport(string Tenant, ImmutableArray<ResourceReport> Resources, ImmutableArray<DiagnosticReport> Diagnostics);

/// <summary><c>/status</c> with several tenants: the listeners the edge serves, and each tenant's resources.</summary>
internal sealed record MultiTenantStatusReport(
    long Generation, string AmbassadorId, ImmutableArray<BoundListenerReport> Listeners, ImmutableArray<TenantStatusReport> Tenants);

/// <summary>
/// Builds <c>/status</c> from the tenant grains (the truth) and this silo's edge (what is bound). For a tenant of the
/// config directory the statuses are merged with the offline evaluation of its files, the one <c>ogw check</c> runs:
/// it knows which certificates this process cannot read, and in the order of the files, which is how a user reads them.
/// </summary>
internal sealed class GatewayStatus(GatewaySettings settings, IGrainFactory grains, ConfigDirectoryState state, EdgeState edges)
{
    /// <summary>How long /status waits for this edge to serve what the grains just said; a slower edge is reported as it is.</summary>
    private static readonly TimeSpan EdgeCatchUp = TimeSpan.FromSeconds(2);

    /// <summary>A core silo serves no certificate; the report only needs the plan's listeners.</summary>
    private static readonly TenantCertificateProvider NoCertificates = new(FrozenDictionary<string, SecretCertificateProvider>.Empty);

    private volatile bool _synced;

    /// <summary>
    /// Whether this silo has served the config directory's first apply (or, without one, its first snapshot) at least
    /// once. Before that, /status and /readyz say "not yet".
    /// </summary>
    public bool HasSynced
    {
        get
        {
            if (!_synced)
            {
                var config = state.Config;
                var configDone = settings.ConfigPath is null || config is not null;
                var edgeDone = !settings.Cluster.ServesTraffic
                    || (edges.Edge is { } edge && edge.Snapshot.DirectoryVersion >= (config?.DirectoryVersion ?? 0));
                _synced = configDone && edgeDone;
            }

            return _synced;
        }
    }

    public async Task<object> ReportAsync()
    {
        var config = state.Config;
        var edge = edges.Edge;
        var tenants = config is null ? [CompileOptions.DefaultTenant] : config.Tenants.Select(t => t.Tenant).ToList();
        var views = new List<(string Tenant, (TenantView View, ConfigTenant? Local) Parts)>();
        foreach (var tenant in tenants)
        {
            var view = await grains.GetTenantGrain(tenant).GetAsync();
            var local = config?.Tenants.FirstOrDefault(t => t.Tenant == tenant);
            views.Add((tenant, (view, local)));
        }

        if (settings.Cluster.ServesTraffic)
        {
            // Tenant grains answer only between changes, and a change has told the directory before it returns: once
            // this edge serves the directory's current version, its listeners match the statuses just read.
            var version = await grains.GetDirectoryGrain(settings.AmbassadorId).GetVersionAsync();
            edge = await edges.WaitForEdgeAsync(version, EdgeCatchUp) ?? edge;
        }

        var reports = views.Select(v => (v.Tenant, Report: Report(v.Parts.View, v.Parts.Local, edge))).ToList();
        if (reports.Count == 1)
        {
            return reports[0].Report;
        }

        var first = reports[0].Report;
        return new MultiTenantStatusReport(
            first.Generation,
            first.AmbassadorId,
            first.Listeners,
            [.. reports.Select(r => new TenantStatusReport(r.Tenant, r.Report.Resources, r.Report.Diagnostics))]);
    }

    private StatusReport Report(TenantView view, ConfigTenant? local, EdgeServing? edge)
    {
        ImmutableArray<ResourceStatus> stored = [.. view.Resources.Select(r => r.Status)];
        if (edge is not null)
        {
            stored = ConfigEvaluator.WithBindResults(stored, edge.Apply);
        }

        var statuses = Merge(stored, local);

        // The grains add what only they know to the offline evaluation: refused claims (another tenant holds the name)
        // and quota. Everything else the offline evaluation already reported, from the same compiler.
        var diagnostics = local is null
            ? ImmutableArray<Diagnostic>.Empty
            : [.. local.Local.Diagnostics, .. local.Outcome.Diagnostics.Where(d => DiagnosticCodes.IsControlPlaneOnly(d.Code))];
        var plan = edge?.Snapshot.Plan ?? GatewayPlan.Empty(settings.AmbassadorId);
        var evaluation = new ConfigEvaluation(
            settings.AmbassadorId, plan, edge?.Snapshot.Certificates ?? NoCertificates, statuses, diagnostics);
        return GatewayReport.ForStatus(edge?.Apply.Generation ?? view.Version, evaluation, statuses, edge?.Apply);
    }

    /// <summary>
    /// The stored statuses (bind results folded in) in the order of the files. A resource the offline evaluation
    /// Discards (a Secret whose certificate cannot be read, and what needs it) keeps the offline status: that is why
    /// it does not work, and the data plane's complaints about it (no certificate) only repeat it. The exception is a
    /// canary member kept at its last accepted version (<see cref="IsKeptLastGood"/>).
    /// </summary>
    /// <summary>
    /// A canary member whose new weights the grain refused but whose last accepted version it still serves: the
    /// offline evaluation only sees the new version (Discarded), the grain knows what is served.
    /// </summary>
    private static bool IsKeptLastGood(ResourceStatus grain) =>
        grain.State == ResourceState.Accepted && grain.Messages.Any(m => m.Contains(LastGoodGroups.KeptMarker, StringComparison.Ordinal));

    private static ImmutableArray<ResourceStatus> Merge(ImmutableArray<ResourceStatus> grainStatuses, ConfigTenant? local)
    {
        if (local is null)
        {
            return grainStatuses;
        }

        var stored = grainStatuses.ToDictionary(s => s.Resource);
        var offline = local.Local.Statuses.Where(s => stored.ContainsKey(s.Resource)).ToList();
        var merged = offline.Select(s =>
        {
            var grain = stored[s.Resource];
            return s.State == ResourceState.Discarded && grain.State != ResourceState.Discarded && !IsKeptLastGood(grain)
                ? s
                : grain with { Messages = [.. s.Messages.Concat(grain.Messages).Distinct()], Source = s.Source ?? grain.Source };
        });
        var known = offline.Select(s => s.Resource).ToHashSet();
        return [.. merged, .. grainStatuses.Where(s => !known.Contains(s.Resource))];
    }
}
