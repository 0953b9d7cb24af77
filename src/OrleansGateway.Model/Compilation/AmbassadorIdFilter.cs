using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Compilation;

/// <summary>
/// Which resources this installation takes notice of (docs/tcpmapping-semantics.md, row 15): a missing or empty
/// <c>ambassador_id</c> means <c>["default"]</c> (Emissary's Go path; its Python path ignores <c>[]</c>), and
/// <c>_automatic_</c> anywhere in the list matches every installation.
/// </summary>
public static class AmbassadorIdFilter
{
    public const string Automatic = "_automatic_";
    public const string DefaultId = "default";

    public static bool Matches(Resource resource, string installationId)
    {
        // Secrets are Kubernetes objects: they carry no ambassador_id and belong to whoever references them.
        if (resource is SecretResource)
        {
            return true;
        }

        var ids = resource.AmbassadorId.IsDefaultOrEmpty ? [DefaultId] : resource.AmbassadorId;
        return ids.Contains(installationId, StringComparer.Ordinal) || ids.Contains(Automatic, StringComparer.Ordinal);
    }

    public static string Describe(Resource resource) =>
        resource.AmbassadorId.IsDefaultOrEmpty
            ? "[default] (the default)"
            : "[" + string.Join(", ", resource.AmbassadorId) + "]";
}
