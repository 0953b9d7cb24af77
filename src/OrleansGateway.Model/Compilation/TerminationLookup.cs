using System.Collections.Immutable;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Hosts;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>The certificate and settings for one SNI route, and the resources they come from.</summary>
internal sealed record TerminationResult(TlsTermination Termination, ImmutableArray<ResourceRef> Resources);

/// <summary>
/// Finds where a TCPMapping <c>host</c> gets its certificate (docs/tcpmapping-semantics.md, "TLS termination"): Hosts
/// first (hostname overlapping the host, most specific Host wins, not Emissary's ASCII order), then the first TLSContext
/// whose <c>hosts</c> holds the same pattern. Results are cached per host: every member of a canary group asks the same question.
/// </summary>
/// <param name="discarded">Hosts and TLSContexts that were Discarded: when one of them would have served the host, the
/// mapping's message names it instead of saying that nothing provides a certificate.</param>
internal sealed class TerminationLookup(HostCatalog hosts, TlsContextCatalog contexts, SecretCatalog secrets, IReadOnlyList<Resource> discarded)
{
    private readonly Dictionary<HostPattern, (TerminationResult? Result, string? Error, ResourceRef? Related)> _cache = [];

    public TerminationResult? Find(HostPattern host, out string? error, out ResourceRef? related)
    {
        if (!_cache.TryGetValue(host, out var cached))
        {
            var result = Compute(host, out var e, out var r);
            _cache[host] = cached = (result, e, r);
        }

        error = cached.Error;
        related = cached.Related;
        return cached.Result;
    }

    private TerminationResult? Compute(HostPattern host, out string? error, out ResourceRef? related)
    {
        error = null;
        related = null;
        TlsHost? best = null;
        foreach (var candidate in hosts.Matching(host))
        {
            if (best is null || HostCatalog.CompareSpecificity(candidate, best, host) < 0)
            {
                best = candidate;
            }
        }

        if (best is not null)
        {
            var refs = new List<ResourceRef> { best.Ref };
            if (best.Context is not null)
            {
                refs.Add(best.Context.Ref);
            }

            return Build(best.Ref, best.Certificate, best.Settings, refs);
        }

        var listed = contexts.FindByExactHost(host);
        var withSecret = listed.FirstOrDefault(c => c.Certificate is not null);
        if (withSecret is not null)
        {
            return Build(withSecret.Ref, withSecret.Certificate!, withSecret.Settings, [withSecret.Ref]);
        }

        if (listed.Count > 0)
        {
            related = listed[0].Ref;
            error = $"{listed[0].Ref} lists host '{host}' but has no secret, so it cannot terminate TLS. " +
                $"Add a secret to it, or add a Host with hostname {host} and a tlsSecret.";
            return null;
        }

        if (discarded.FirstOrDefault(r => WouldServe(r, host)) is { } broken)
        {
            related = broken.Ref;
            error = $"{broken.Ref} would provide the certificate for host {host}, but it is itself discarded (its status says why). " +
                "Fix it, or provide the certificate with another Host or TLSContext.";
            return null;
        }

        error = $"no Host or TLSContext provides a certificate for host {host}; add a Host with hostname {host} and a tlsSecret, " +
            $"or a TLSContext with hosts: [{host}] and a secret.";
        return null;
    }

    private static bool WouldServe(Resource resource, HostPattern host) => resource switch
    {
        HostResource h => (h.TlsSecretName is not null || h.TlsContextName is not null) && HostCatalog.Hostname(h, out _) is { } hostname
            && hostname.Overlaps(host),
        TlsContextResource c => !c.Hosts.IsDefault && c.Hosts.Any(x => HostPattern.TryParse(x, out var listed, out _) && listed == host),
        _ => false,
    };

    private TerminationResult Build(ResourceRef source, SecretRef certificate, TlsSettings settings, List<ResourceRef> refs)
    {
        AddSecret(refs, certificate);
        if (settings.CaSecret is { } ca)
        {
            AddSecret(refs, ca);
        }

        var termination = new TlsTermination(source, certificate, settings.MinVersion, settings.MaxVersion, settings.CipherSuites,
            settings.AlpnProtocols, settings.CaSecret, settings.CertRequired);
        return new TerminationResult(termination, [.. refs]);
    }

    private void AddSecret(List<ResourceRef> refs, SecretRef secret)
    {
        if (secrets.RefOf(secret) is { } r)
        {
            refs.Add(r);
        }
    }
}
