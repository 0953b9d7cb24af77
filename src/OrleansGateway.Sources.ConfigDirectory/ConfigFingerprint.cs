using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Sources.ConfigDirectory;

/// <summary>
/// A cheap summary of the files the loader reads (path, size, mtime), per tenant: equal fingerprints mean nothing to
/// reload for that tenant. It follows the loader's rules: <c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>, recursively,
/// skipping dot-names; and <see cref="ConfigTenants"/>' rule of which file belongs to which tenant.
/// </summary>
internal static class ConfigFingerprint
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    /// <summary>The fingerprint of the whole directory (or file): every tenant's, in tenant order.</summary>
    public static string Of(string path) =>
        string.Concat(OfTenants(path).Select(t => $"[{t.Key}]\n{t.Value}"));

    /// <summary>
    /// Tenant → the fingerprint of its files. A directory always has the tenant <see cref="CompileOptions.DefaultTenant"/>
    /// (its top-level files, maybe none); a missing path has no tenant.
    /// </summary>
    public static ImmutableSortedDictionary<string, string> OfTenants(string path)
    {
        var tenants = new SortedDictionary<string, StringBuilder>(StringComparer.Ordinal);
        StringBuilder For(string tenant) => tenants.TryGetValue(tenant, out var text) ? text : tenants[tenant] = new StringBuilder();
        try
        {
            if (File.Exists(path))
            {
                Append(For(CompileOptions.DefaultTenant), new FileInfo(path), Path.GetFileName(path));
            }
            else if (Directory.Exists(path))
            {
                var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
                var files = Directory.EnumerateFiles(path, "*", options)
                    .Select(f => Path.GetRelativePath(path, f))
                    .Where(IsRelevant)
                    .Order(StringComparer.Ordinal);
                For(CompileOptions.DefaultTenant);
                foreach (var relative in files)
                {
                    Append(For(TenantOf(relative)), new FileInfo(Path.Combine(path, relative)), relative);
                }

                // A subdirectory without files is still a tenant (ConfigTenants loads it: it has nothing).
                foreach (var directory in Directory.EnumerateDirectories(path).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')))
                {
                    For(directory!);
                }
            }
        }
        catch (IOException e)
        {
            // A file vanished while listing: a different fingerprint makes the next poll look again.
            For(CompileOptions.DefaultTenant).Append(CultureInfo.InvariantCulture, $"(error {e.Message})");
        }

        return tenants.ToImmutableSortedDictionary(t => t.Key, t => t.Value.ToString(), StringComparer.Ordinal);
    }

    /// <summary>The tenant a relevant file (path relative to the config directory) belongs to.</summary>
    public static string TenantOf(string relative)
    {
        var separator = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return separator < 0 ? CompileOptions.DefaultTenant : relative[..separator];
    }

    /// <summary>Whether the loader reads this file (path relative to the config directory).</summary>
    public static bool IsRelevant(string relative) =>
        Extensions.Contains(Path.GetExtension(relative), StringComparer.OrdinalIgnoreCase)
        && !relative.Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.'));

    private static void Append(StringBuilder text, FileInfo file, string name)
    {
        // Follow symlinks: a ConfigMap mount swaps the target behind an unchanged link.
        var target = file.LinkTarget is null ? file : file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file;
        var size = target.Exists ? target.Length : -1;
        text.Append(CultureInfo.InvariantCulture, $"{name}\t{size}\t{target.LastWriteTimeUtc.Ticks}\n");
    }
}
