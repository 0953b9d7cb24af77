using System.Collections.Immutable;
using OrleansGateway.Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains;

/// <summary>
/// With a certificate source (Key Vault), no private key is written to grain storage: the key of every Secret resource
/// of a change is stored in the source, and the tenant's state keeps the Secret with a <see cref="SecretKeyMarker"/> in
/// place of <c>tls.key</c> (docs/key-vault.md, "Secret resources"). One instance per change, in the order of
/// <see cref="TenantGrain"/>'s apply: <see cref="Read"/> (no I/O) → <see cref="Discard"/> (unusable keys) → the Strict
/// trial → <see cref="StoreAsync"/> (only when nothing can refuse the change any more, so a refused change stores no
/// version) → <see cref="Apply"/> (the resources to store, with markers).
/// </summary>
internal sealed class SecretKeys
{
    /// <summary>A store that does not answer within this fails it (the apply is a grain call of at most 30 s).</summary>
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(20);

    private readonly Dictionary<ResourceRef, Entry> _entries;

    private SecretKeys(Dictionary<ResourceRef, Entry> entries) => _entries = entries;

    private enum Kind
    {
        /// <summary>The stored Secret, unchanged: its marker stays.</summary>
        Kept,

        /// <summary>A key whose material the stored version already holds (same hash): its pin is reused, nothing is stored.</summary>
        Same,

        /// <summary>A new key: stored in the source by <see cref="StoreAsync"/>.</summary>
        New,

        /// <summary>A key that cannot be stored (unreadable, no certificate, not its certificate's key): stored as <see cref="SecretKeyMarker.NotStored"/>.</summary>
        Unusable,

        /// <summary>The stored Secret, unchanged, whose key was never stored: it stays Discarded until applied again with its key.</summary>
        Withheld,
    }

    /// <summary>The material of every key stored by this change, for the certificate grains (they need not read it back).</summary>
    public IReadOnlyDictionary<SecretRef, CertificateMaterial> Stored =>
        _entries.Values.Where(e => e.Kind == Kind.New && e.Pin is not null).ToDictionary(e => e.Reference, e => e.Material!);

    /// <summary>Sorts the Secrets with a key of <paramref name="next"/> against <paramref name="stored"/>; reads nothing.</summary>
    public static SecretKeys Read(
        string tenant,
        IReadOnlyDictionary<ResourceRef, (Resource Resource, string Source)> next,
        ImmutableArray<TenantResource> stored,
        ICertificateSource source,
        TimeProvider time)
    {
        var before = stored.Where(r => r.Resource is SecretResource).ToDictionary(r => r.Resource.Ref);
        var entries = new Dictionary<ResourceRef, Entry>();
        foreach (var (reference, (resource, _)) in next)
        {
            if (resource is not SecretResource { TlsKey: not null } secret)
            {
                continue;
            }

            var previous = before.GetValueOrDefault(reference);
            var storedSecret = previous?.Resource as SecretResource;
            var entry = new Entry(secret, new SecretRef(secret.Namespace, secret.Name) { Tenant = tenant }, previous);
            if (storedSecret is not null && SecretKeyMarker.IsMarker(secret.TlsKey) && SameFields(secret, storedSecret))
            {
                // Only the stored Secret carries its marker: a marker sent by a tenant is a key that does not read as PEM.
                entries[reference] = SecretKeyMarker.ReadKept(secret.TlsKey) is { } pin
                    ? entry with { Kind = Kind.Kept, Pin = pin }
                    : entry with { Kind = Kind.Withheld, Reason = $"its key was not stored ({SecretKeyMarker.ReadNotStored(secret.TlsKey)}); apply the Secret again with its key" };
                continue;
            }

            SecretCertificateProvider.FromSecrets([secret], time, out var problems);
            var errors = problems.Where(p => p.Severity == Severity.Error).ToImmutableArray();
            if (errors.IsEmpty && NameProblem(source, entry.Reference) is { } name)
            {
                errors = [new Diagnostic(Severity.Error, DiagnosticCodes.SecretStoreRefused, $"{reference}: {name}", reference, secret.Source, "metadata.name")];
            }

            if (!errors.IsEmpty)
            {
                entries[reference] = entry with { Kind = Kind.Unusable, Problems = errors, Reason = errors[0].Message };
                continue;
            }

            var material = new CertificateMaterial(secret.Type, secret.TlsCrt, secret.TlsKey, secret.CaCrt);
            var hash = CertificateGrain.VersionOf(material);
            entries[reference] = SecretKeyMarker.ReadKept((storedSecret)?.TlsKey) is { } storedPin && storedPin.Hash == hash
                ? entry with { Kind = Kind.Same, Pin = storedPin }
                : entry with { Kind = Kind.New, Material = material, Hash = hash };
        }

        return new SecretKeys(entries);
    }

    /// <summary>Every Secret whose key cannot be stored is Discarded with the reason (unless the compiler discarded it already).</summary>
    public TenantCompilation Discard(TenantCompilation compiled)
    {
        var unusable = _entries.Values.Where(e => e.Kind is Kind.Unusable or Kind.Withheld).ToDictionary(e => e.Secret.Ref);
        return unusable.Count == 0
            ? compiled
            : Refuse(compiled, unusable.ToDictionary(e => e.Key, e => e.Value.Problems.IsEmpty
                ? [new Diagnostic(Severity.Error, DiagnosticCodes.SecretPem, $"{e.Key}: {e.Value.Reason}", e.Key, e.Value.Secret.Source, "data.tls.key")]
                : e.Value.Problems));
    }

    /// <summary>
    /// Stores every new key in <paramref name="source"/> (in parallel; the source adds no version when its current one
    /// already holds the material). A failure is kept per Secret: <see cref="Apply"/> and <see cref="Unavailable"/> say
    /// what it means for the change.
    /// </summary>
    public async Task StoreAsync(ICertificateSource source)
    {
        var pending = _entries.Values.Where(e => e.Kind == Kind.New).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        using var cancel = new CancellationTokenSource(StoreTimeout);
        var results = await Task.WhenAll(pending.Select(async e =>
        {
            try
            {
                var version = await source.StoreSecretAsync(e.Reference, e.Material!, e.Hash!, cancel.Token);
                var thumbprint = CertificateFiles.Describe(e.Material!.TlsCrt!)!.Thumbprint;
                return e with { Pin = new CertificatePin(source.Locate(e.Reference), version, thumbprint, e.Hash!) };
            }
            catch (CertificateSourceException failure)
            {
                return e with { Reason = failure.Message };
            }
            catch (OperationCanceledException)
            {
                return e with { Reason = $"{source.Name} did not answer within {StoreTimeout.TotalSeconds:0} s" };
            }
        }));
        foreach (var result in results)
        {
            _entries[result.Secret.Ref] = result;
        }
    }

    /// <summary>
    /// A Strict change some of whose keys could not be stored: the statuses and diagnostics to refuse it with (the API
    /// answers 503; nothing is persisted, and a version already stored for another Secret is never served: nothing names
    /// it). Null when every key was stored.
    /// </summary>
    public TenantCompilation? Unavailable(TenantCompilation compiled)
    {
        var failed = Failed().ToDictionary(e => e.Secret.Ref);
        return failed.Count == 0 ? null : Refuse(compiled, failed.ToDictionary(e => e.Key, e => (ImmutableArray<Diagnostic>)[StoreProblem(e.Value)]));
    }

    /// <summary>
    /// The resources to store: every key replaced by its marker. A Secret whose new key could not be stored keeps its
    /// last accepted version (served as before, with a message), or, without one, is stored without its key, Discarded.
    /// </summary>
    public (Dictionary<ResourceRef, (Resource Resource, string Source)> Next, TenantCompilation Compiled) Apply(
        Dictionary<ResourceRef, (Resource Resource, string Source)> next, TenantCompilation compiled)
    {
        var result = new Dictionary<ResourceRef, (Resource Resource, string Source)>(next);
        var kept = new Dictionary<ResourceRef, string>();
        var lost = new Dictionary<ResourceRef, ImmutableArray<Diagnostic>>();
        foreach (var (reference, entry) in _entries)
        {
            var source = next[reference].Source;
            if (entry.Kind == Kind.Withheld)
            {
                continue;
            }

            if (entry.Pin is { } pin)
            {
                result[reference] = (entry.Secret with { TlsKey = SecretKeyMarker.Kept(pin) }, source);
            }
            else if (entry.Kind == Kind.New && entry.Previous is { Status.State: ResourceState.Accepted, Resource: SecretResource good }
                && SecretKeyMarker.ReadKept(good.TlsKey) is not null)
            {
                result[reference] = (good, source);
                kept[reference] = $"{reference}: {LastGoodGroups.KeptMarker}: {entry.Reason}";
            }
            else
            {
                result[reference] = (entry.Secret with { TlsKey = SecretKeyMarker.NotStored(entry.Reason!) }, source);
                if (entry.Kind == Kind.New)
                {
                    lost[reference] = [StoreProblem(entry)];
                }
            }
        }

        compiled = Refuse(compiled, lost);
        if (kept.Count > 0)
        {
            var diagnostics = compiled.Diagnostics.ToBuilder();
            var statuses = compiled.Statuses.Select(s =>
            {
                if (!kept.TryGetValue(s.Resource, out var message))
                {
                    return s;
                }

                diagnostics.Add(new Diagnostic(Severity.Error, DiagnosticCodes.SecretStoreUnavailable, message, s.Resource, s.Source, "data.tls.key"));
                return s with { Messages = [.. s.Messages, message] };
            });
            compiled = compiled with { Statuses = [.. statuses], Diagnostics = diagnostics.ToImmutable() };
        }

        return (result, compiled);
    }

    private IEnumerable<Entry> Failed() => _entries.Values.Where(e => e.Kind == Kind.New && e.Pin is null);

    private static Diagnostic StoreProblem(Entry e) => new(
        Severity.Error,
        DiagnosticCodes.SecretStoreUnavailable,
        $"{e.Secret.Ref}: its key could not be stored in the certificate source, so it is not applied: {e.Reason}. Apply it again once the source answers.",
        e.Secret.Ref,
        e.Secret.Source,
        "data.tls.key");

    /// <summary>The Secrets of <paramref name="problems"/> become Discarded with those diagnostics (one not Discarded already).</summary>
    private static TenantCompilation Refuse(TenantCompilation compiled, Dictionary<ResourceRef, ImmutableArray<Diagnostic>> problems)
    {
        if (problems.Count == 0)
        {
            return compiled;
        }

        var diagnostics = compiled.Diagnostics.ToBuilder();
        var statuses = compiled.Statuses.Select(s =>
        {
            if (!problems.TryGetValue(s.Resource, out var found) || s.State == ResourceState.Discarded)
            {
                return s;
            }

            diagnostics.AddRange(found);
            return s with { State = ResourceState.Discarded, Messages = [.. s.Messages, .. found.Select(d => d.Message)] };
        });
        return compiled with { Statuses = [.. statuses], Diagnostics = diagnostics.ToImmutable() };
    }

    /// <summary>Why the source cannot name <paramref name="secret"/> (too long for the vault); null when it can.</summary>
    private static string? NameProblem(ICertificateSource source, SecretRef secret)
    {
        try
        {
            source.Locate(secret);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    private static bool SameFields(SecretResource a, SecretResource b) =>
        a.Type == b.Type && a.TlsCrt == b.TlsCrt && a.TlsKey == b.TlsKey && a.CaCrt == b.CaCrt;

    /// <param name="Previous">The stored version of the Secret, if any.</param>
    /// <param name="Pin">Where its key is kept (Kept, Same, and New once stored).</param>
    /// <param name="Reason">Why it is unusable, or why storing it failed.</param>
    private sealed record Entry(SecretResource Secret, SecretRef Reference, TenantResource? Previous)
    {
        public Kind Kind { get; init; }

        public CertificatePin? Pin { get; init; }

        public CertificateMaterial? Material { get; init; }

        public string? Hash { get; init; }

        public string? Reason { get; init; }

        public ImmutableArray<Diagnostic> Problems { get; init; } = [];
    }
}
