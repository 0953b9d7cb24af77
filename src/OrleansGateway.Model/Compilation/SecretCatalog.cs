using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Kubernetes Secrets by (namespace, name), and the rules for naming them from a TLSContext or Host
/// (docs/tcpmapping-semantics.md, "Secrets"): <c>name</c> is in the referencing resource's namespace; <c>name.namespace</c>
/// picks another namespace (split at the last dot) unless <c>secret_namespacing: false</c> or a Secret is
/// literally named so in the referencing namespace.
/// </summary>
internal sealed class SecretCatalog
{
    public const string TlsType = "kubernetes.io/tls";

    private readonly Dictionary<(string Namespace, string Name), SecretResource> _secrets = [];
    private readonly bool _external;
    private readonly string _tenant;

    private SecretCatalog(bool external, string tenant)
    {
        _external = external;
        _tenant = tenant;
    }

    /// <summary>Validates the Secrets (in order) and indexes the usable ones.</summary>
    /// <param name="tenant">Set on every <see cref="SecretRef"/> this catalog resolves: a tenant only ever sees its own Secrets.</param>
    public static SecretCatalog Build(IEnumerable<ResourceEntry> secrets, bool external, string tenant)
    {
        var catalog = new SecretCatalog(external, tenant);
        foreach (var entry in secrets)
        {
            var secret = (SecretResource)entry.Resource;
            if (Unnamable(new SecretRef(secret.Namespace, secret.Name) { Tenant = tenant }) is { } unnamable)
            {
                entry.Discard(DiagnosticCodes.ResourceInvalid, unnamable + ". Rename it.",
                    secret.Name.Length == 0 || secret.Name.Contains('/', StringComparison.Ordinal) ? "metadata.name" : "metadata.namespace");
                continue;
            }

            if (string.Equals(secret.Type, TlsType, StringComparison.Ordinal) && (secret.TlsCrt is null || secret.TlsKey is null))
            {
                var missing = secret.TlsCrt is null ? "tls.crt" : "tls.key";
                entry.Discard(DiagnosticCodes.SecretIncomplete, $"a Secret of type {TlsType} needs both tls.crt and tls.key; {missing} is missing. " +
                    "Add it, or change the type if this Secret holds only a CA (ca.crt).", "data." + missing);
                continue;
            }

            catalog._secrets.TryAdd((secret.Namespace, secret.Name), secret);
        }

        return catalog;
    }

    /// <summary>Where <paramref name="name"/>, written in a resource of <paramref name="ownerNamespace"/>, points.</summary>
    public SecretRef Resolve(string name, string ownerNamespace, bool namespacing = true, string? explicitNamespace = null)
    {
        if (explicitNamespace is { Length: > 0 })
        {
            return new SecretRef(explicitNamespace, name) { Tenant = _tenant };
        }

        var dot = name.LastIndexOf('.');
        if (namespacing && dot > 0 && dot < name.Length - 1 && !_secrets.ContainsKey((ownerNamespace, name)))
        {
            return new SecretRef(name[(dot + 1)..], name[..dot]) { Tenant = _tenant };
        }

        return new SecretRef(ownerNamespace, name) { Tenant = _tenant };
    }

    /// <summary>Null when <paramref name="secret"/> can serve as a certificate with its key; otherwise why not.</summary>
    public string? CheckCertificate(SecretRef secret)
    {
        if (Unnamable(secret) is { } unnamable)
        {
            return unnamable;
        }

        if (!_secrets.TryGetValue((secret.Namespace, secret.Name), out var s))
        {
            return _external ? null : $"found no certificate in Secret {secret}: there is no such Secret (or it was discarded)";
        }

        return s.TlsCrt is not null && s.TlsKey is not null
            ? null
            : $"found no certificate in Secret {secret}: it needs tls.crt and tls.key";
    }

    /// <summary>Null when <paramref name="secret"/> holds a CA (<c>ca.crt</c>, or <c>tls.crt</c> without a key); otherwise why not.</summary>
    public string? CheckCa(SecretRef secret)
    {
        if (Unnamable(secret) is { } unnamable)
        {
            return unnamable;
        }

        if (!_secrets.TryGetValue((secret.Namespace, secret.Name), out var s))
        {
            return _external ? null : $"found no CA certificate in Secret {secret}: there is no such Secret (or it was discarded)";
        }

        return s.CaCrt is not null || (s.TlsCrt is not null && s.TlsKey is null)
            ? null
            : $"found no CA certificate in Secret {secret}: it needs ca.crt (or tls.crt without tls.key)";
    }

    /// <summary>
    /// Why no Secret can be named so: Kubernetes names have no '/' and are never empty. Checked before the lookup, because
    /// with an external source (Key Vault) a reference to a Secret that is not there is still followed, and a '/' would
    /// reach places that split on it (certificate grain keys).
    /// </summary>
    private static string? Unnamable(SecretRef secret) =>
        secret.Namespace.Length == 0 || secret.Name.Length == 0 || secret.Namespace.Contains('/', StringComparison.Ordinal) || secret.Name.Contains('/', StringComparison.Ordinal)
            ? $"no Secret can be named {secret}: a Secret's name and namespace are non-empty and contain no '/'"
            : null;

    /// <summary>The Secret resource behind a reference, for listing the resources a listener depends on.</summary>
    public ResourceRef? RefOf(SecretRef secret) =>
        _secrets.TryGetValue((secret.Namespace, secret.Name), out var s) ? s.Ref : null;
}
