using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Model.Resources;

/// <summary>
/// The names Kubernetes allows, and so the only names a resource may have here whatever its source (docs/resource-model.md,
/// "Names"): <c>metadata.name</c> a DNS-1123 subdomain, <c>metadata.namespace</c> a DNS-1123 label, tenant names a
/// DNS-1123 label. Names travel into grain keys, Key Vault names, log lines, metric tags and status answers, so
/// nothing else (upper case, <c>_</c>, spaces, control characters) gets that far.
/// </summary>
public static class ResourceNames
{
    /// <summary>Longest DNS-1123 subdomain (RFC 1123 host name).</summary>
    public const int MaxNameLength = 253;

    /// <summary>Longest DNS-1123 label.</summary>
    public const int MaxLabelLength = 63;

    private const string LabelRule = "lowercase letters, digits and '-', starting and ending with a letter or digit";

    /// <summary>^[a-z0-9]([-a-z0-9]*[a-z0-9])?$, at most 63 characters: a namespace, a tenant.</summary>
    public static bool IsDnsLabel(string? value) =>
        value is { Length: >= 1 and <= MaxLabelLength } && IsLabel(value);

    /// <summary>DNS-1123 labels joined by '.', at most 253 characters: a resource's name.</summary>
    public static bool IsDnsSubdomain(string? value)
    {
        if (value is not { Length: >= 1 and <= MaxNameLength })
        {
            return false;
        }

        foreach (var label in value.Split('.'))
        {
            if (!IsLabel(label))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Null when <paramref name="name"/> may be a <c>metadata.name</c>; otherwise what is wrong and what is allowed.</summary>
    public static string? NameProblem(string name) => IsDnsSubdomain(name)
        ? null
        : $"metadata.name {LogText.Quote(name)} is not a valid name: use at most {MaxNameLength} {LabelRule}, " +
          "in labels separated by '.' (a Kubernetes name, DNS-1123 subdomain)";

    /// <summary>Null when <paramref name="ns"/> may be a <c>metadata.namespace</c>; otherwise what is wrong and what is allowed.</summary>
    public static string? NamespaceProblem(string ns) => IsDnsLabel(ns)
        ? null
        : $"metadata.namespace {LogText.Quote(ns)} is not a valid namespace: use at most {MaxLabelLength} {LabelRule} " +
          "(a Kubernetes namespace, DNS-1123 label)";

    private static bool IsLabel(ReadOnlySpan<char> label)
    {
        if (label.Length is 0 or > MaxLabelLength || label[0] == '-' || label[^1] == '-')
        {
            return false;
        }

        foreach (var c in label)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
