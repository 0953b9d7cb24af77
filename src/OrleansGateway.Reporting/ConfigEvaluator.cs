using System.Collections.Immutable;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Compilation;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Reporting;

/// <summary>
/// What a configuration evaluates to: the plan to serve, the certificates it needs, a status for every resource and
/// every diagnostic. <c>ogw check</c> and the gateway both build it with <see cref="ConfigEvaluator"/> so that the
/// statuses a user sees offline are exactly the ones the gateway serves.
/// </summary>
public sealed record ConfigEvaluation(
    string AmbassadorId,
    GatewayPlan Plan,
    ICertificateProvider Certificates,
    ImmutableArray<ResourceStatus> Statuses,
    ImmutableArray<Diagnostic> Diagnostics)
{
    public bool HasDiscarded => Statuses.Any(s => s.State == ResourceState.Discarded);

    public bool HasErrors => Diagnostics.Any(d => d.Severity == Severity.Error);
}

/// <summary>"Load + compile + validate secrets → statuses", shared by <c>ogw check</c> and the gateway host.</summary>
public static class ConfigEvaluator
{
    public static ConfigEvaluation Evaluate(string path, string ambassadorId, CompileOptions options)
        => Evaluate(ResourceLoader.LoadPath(path), ambassadorId, options);

    public static ConfigEvaluation Evaluate(LoadResult load, string ambassadorId, CompileOptions options)
    {
        var compiled = GatewayCompiler.Compile(new CompileInput(load.Resources, ambassadorId, options, load.Diagnostics));
        var secrets = load.Resources.OfType<SecretResource>()
            .Where(s => StateOf(compiled.Statuses, s.Ref) is not (ResourceState.Discarded or ResourceState.Ignored));
        var certificates = SecretCertificateProvider.FromSecrets(secrets, out var problems);

        var unusable = problems
            .Where(p => p.Severity == Severity.Error && p.Resource is not null)
            .Select(p => p.Resource!)
            .ToImmutableHashSet();
        if (!unusable.IsEmpty)
        {
            // Compile again without the unusable Secrets: whatever needs one is then Discarded by the compiler's own
            // missing-secret rule, and the plan never names a certificate the data plane cannot load.
            var usable = load.Resources.Where(r => !(r is SecretResource && unusable.Contains(r.Ref))).ToImmutableArray();
            compiled = GatewayCompiler.Compile(new CompileInput(usable, ambassadorId, options, load.Diagnostics));
        }

        var statuses = MergeSecretProblems(compiled.Statuses, load.Resources, problems);
        var diagnostics = load.Diagnostics.Where(d => d.Resource is null)
            .Concat(compiled.Diagnostics)
            .Concat(problems)
            .Distinct()
            .ToImmutableArray();
        return new ConfigEvaluation(ambassadorId, compiled.Plan, certificates, Order(statuses), diagnostics);
    }

    /// <summary>
    /// Folds the data plane's bind results into the statuses: every resource of a listener that could not be bound
    /// gets the bind error, and its TCPMappings and its Listener are Discarded because none of them is served; the
    /// warnings of a bound listener (e.g. a route whose TLS cannot be set up) are added to its resources' messages.
    /// </summary>
    public static ImmutableArray<ResourceStatus> WithBindResults(ImmutableArray<ResourceStatus> statuses, ApplyResult apply)
    {
        var failures = apply.Failed
            .SelectMany(l => l.Resources.Select(r => (Resource: r, Message: $"listener {l.Endpoint} could not be bound: {l.Error}")))
            .ToLookup(f => f.Resource, f => f.Message);
        var warnings = apply.Listeners
            .Where(l => l.Bound)
            .SelectMany(l => l.Resources.SelectMany(r => l.Warnings.Select(w => (Resource: r, Message: $"listener {l.Endpoint}: {w}"))))
            .ToLookup(w => w.Resource, w => w.Message);
        return statuses.Select(s =>
        {
            var failed = failures[s.Resource].ToImmutableArray();
            var messages = s.Messages.AddRange(failed).AddRange(warnings[s.Resource]);
            var state = !failed.IsEmpty && s.Resource.Kind is ("TCPMapping" or "Listener") ? ResourceState.Discarded : s.State;
            return s with { State = state, Messages = messages };
        }).ToImmutableArray();
    }

    private static ImmutableArray<ResourceStatus> MergeSecretProblems(
        ImmutableArray<ResourceStatus> statuses, ImmutableArray<Resource> resources, ImmutableArray<Diagnostic> problems)
    {
        var bySecret = problems.Where(p => p.Resource is not null).ToLookup(p => p.Resource!);
        var result = statuses.Select(s => Apply(s, bySecret[s.Resource])).ToList();

        // A Secret removed for the second compile has no status from the compiler: it gets one here.
        foreach (var secret in resources.OfType<SecretResource>())
        {
            if (bySecret.Contains(secret.Ref) && result.All(s => s.Resource != secret.Ref))
            {
                result.Add(Apply(new ResourceStatus(secret.Ref, ResourceState.Accepted, [], secret.Source), bySecret[secret.Ref]));
            }
        }

        return [.. result];
    }

    private static ResourceStatus Apply(ResourceStatus status, IEnumerable<Diagnostic> problems)
    {
        var list = problems.ToList();
        if (list.Count == 0)
        {
            return status;
        }

        var state = list.Any(p => p.Severity == Severity.Error) ? ResourceState.Discarded : status.State;
        var messages = status.Messages.AddRange(list.Select(p => p.Message).Where(m => !status.Messages.Contains(m)));
        return status with { State = state, Messages = messages };
    }

    /// <summary>Statuses in the order of the files they come from, which is how a user reads them.</summary>
    private static ImmutableArray<ResourceStatus> Order(IEnumerable<ResourceStatus> statuses) =>
    [
        .. statuses
            .OrderBy(s => s.Source is null)
            .ThenBy(s => s.Source?.File, StringComparer.Ordinal)
            .ThenBy(s => s.Source?.DocumentIndex)
            .ThenBy(s => s.Resource.Kind, StringComparer.Ordinal)
            .ThenBy(s => s.Resource.Namespace, StringComparer.Ordinal)
            .ThenBy(s => s.Resource.Name, StringComparer.Ordinal),
    ];

    private static ResourceState? StateOf(ImmutableArray<ResourceStatus> statuses, ResourceRef resource)
        => statuses.FirstOrDefault(s => s.Resource == resource)?.State;
}
