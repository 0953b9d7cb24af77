using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// The pure compiler: <c>(resources, ambassador id) → (plan, statuses, diagnostics)</c>. No I/O, no clock, no
/// randomness, no logging; the same input always gives the same output, whatever the order of the resources
/// (they are processed in (kind, namespace, name) order wherever "first" matters).
/// One linear pipeline, as Emissary's IR: filter → Module → Secrets → TLSContexts → Hosts → resolvers →
/// Listeners → TCPMappings → canary groups → listeners. An invalid resource is Discarded with its reasons and
/// everything else still compiles.
/// </summary>
public static class GatewayCompiler
{
    public static CompileResult Compile(CompileInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var options = input.Options ?? new CompileOptions();
        var entries = input.Resources.IsDefault
            ? []
            : input.Resources.Order(ResourceOrder.Comparer).Select(r => new ResourceEntry(r)).ToList();

        Admit(entries, input.AmbassadorId);
        AttachLoaderFindings(entries, input.LoadDiagnostics);
        var accepted = entries.Where(e => e.IsAccepted).ToList();

        var module = ModuleDefaults.Select(OfType<ModuleResource>(accepted));
        var secrets = SecretCatalog.Build(OfType<SecretResource>(accepted), options.SecretsExternal, options.Tenant);
        var contexts = TlsContextCatalog.Build(OfType<TlsContextResource>(accepted), secrets);
        var hosts = HostCatalog.Build(OfType<HostResource>(accepted), contexts, secrets);
        var resolvers = ResolverCatalog.Build(OfType<ResolverResource>(accepted));
        var listeners = ListenerCatalog.Build(OfType<ListenerResource>(accepted));

        var discardedTlsSources = entries
            .Where(e => e.State == ResourceState.Discarded && e.Resource is HostResource or TlsContextResource)
            .Select(e => e.Resource)
            .ToList();
        var mappings = new MappingCompiler(options, module, resolvers, contexts, secrets, listeners,
            new TerminationLookup(hosts, contexts, secrets, discardedTlsSources));
        var candidates = OfType<TcpMapping>(accepted).Select(mappings.Compile).OfType<MappingCandidate>().ToList();
        var refusedGroups = new List<RefusedGroup>();
        var groups = CanaryGroups.Build(candidates, refusedGroups);
        var plan = new GatewayPlan(input.AmbassadorId, ListenerAssembler.Build(groups, listeners));

        return new CompileResult(plan, [.. entries.Select(e => e.ToStatus())], [.. entries.SelectMany(e => e.Diagnostics)])
        {
            RefusedGroups = [.. refusedGroups],
        };
    }

    /// <summary>ambassador_id, loader failures, foreign kinds and duplicate identities: who takes part at all.</summary>
    private static void Admit(List<ResourceEntry> entries, string ambassadorId)
    {
        ResourceEntry? previous = null;
        foreach (var entry in entries)
        {
            var resource = entry.Resource;
            if (!AmbassadorIdFilter.Matches(resource, ambassadorId))
            {
                entry.Ignore(DiagnosticCodes.AmbassadorIdMismatch, $"its ambassador_id {AmbassadorIdFilter.Describe(resource)} does not include this gateway's id " +
                    $"'{ambassadorId}' (or {AmbassadorIdFilter.Automatic}). Add '{ambassadorId}' to ambassador_id if this gateway should serve it.");
                continue;
            }

            if (resource is ForeignResource foreign)
            {
                entry.Ignore(DiagnosticCodes.ResourceForeign, $"OrleansGateway handles only TCP resources; a {foreign.OriginalKind} is not used.");
                continue;
            }

            // The same identity twice (two files): the first by source is kept, even when it is the invalid one.
            if (previous is not null && previous.Ref == entry.Ref)
            {
                entry.Discard(DiagnosticCodes.ResourceDuplicate, $"{previous.Ref} is defined twice" +
                    (previous.Resource.Source is { } s ? $"; the definition at {s} is kept" : "") + ". Delete or rename one of them.",
                    related: previous.Ref);
                continue;
            }

            previous = entry;
            if (resource is InvalidResource invalid)
            {
                entry.MarkDiscarded();
                foreach (var error in invalid.Errors.IsDefault ? [] : invalid.Errors)
                {
                    entry.AddExisting(error);
                }

                if (invalid.Errors.IsDefaultOrEmpty)
                {
                    entry.Discard(DiagnosticCodes.ResourceInvalid, "it could not be read (no details were given).");
                }
            }
        }
    }

    /// <summary>
    /// The loader's warnings and notes about a resource (its errors are already in <see cref="InvalidResource.Errors"/>)
    /// join that resource's status. A diagnostic belongs to the entry with the same identity from the same document,
    /// so two definitions of one resource each keep their own findings.
    /// </summary>
    private static void AttachLoaderFindings(List<ResourceEntry> entries, ImmutableArray<Diagnostic> findings)
    {
        if (findings.IsDefaultOrEmpty)
        {
            return;
        }

        var byResource = entries.ToLookup(e => e.Ref);
        foreach (var finding in findings)
        {
            if (finding.Resource is null || finding.Severity == Severity.Error)
            {
                continue;
            }

            var entry = byResource[finding.Resource].FirstOrDefault(e => SameDocument(e.Resource.Source, finding.Source));
            entry?.AddExisting(finding);
        }
    }

    private static bool SameDocument(SourceLocation? a, SourceLocation? b) =>
        a is null || b is null || (a.File == b.File && a.DocumentIndex == b.DocumentIndex);

    private static IEnumerable<ResourceEntry> OfType<T>(List<ResourceEntry> entries) where T : Resource =>
        entries.Where(e => e.IsAccepted && e.Resource is T);
}
