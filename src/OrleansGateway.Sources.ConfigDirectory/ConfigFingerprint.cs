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
        var tenants = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            var text = new StringBuilder();
            Append(text, new FileInfo(path), Path.GetFileName(path));
            tenants[CompileOptions.DefaultTenant] = text.ToString();
        }
        else if (Directory.Exists(path))
        {
            // A subdirectory without files is still a tenant (ConfigTenants loads it: it has nothing).
            IEnumerable<string> names = [CompileOptions.DefaultTenant];
            try
            {
                names = names.Concat(Directory.EnumerateDirectories(path).Select(d => Path.GetFileName(d)).Where(n => !n.StartsWith('.'))).ToList();
            }
            catch (IOException)
            {
                // The directory vanished while listing: the tenants seen so far (none), and the next scan looks again.
            }

            foreach (var tenant in names)
            {
                if (OfTenant(path, tenant) is { } fingerprint)
                {
                    tenants[tenant] = fingerprint;
                }
            }
        }

        return tenants.ToImmutable();
    }

    /// <summary>
    /// The fingerprint of one tenant of the directory <paramref name="path"/> (a stat of its files only), or null when
    /// it has no subdirectory (any more): what a watcher event in that tenant costs, whatever the size of the directory.
    /// Equal to its entry in <see cref="OfTenants"/>.
    /// </summary>
    public static string? OfTenant(string path, string tenant)
    {
        var isDefault = tenant == CompileOptions.DefaultTenant;
        var directory = Path.Combine(path, tenant);
        var hasDirectory = !tenant.StartsWith('.') && Directory.Exists(directory);
        if (!isDefault && !hasDirectory)
        {
            return null;
        }

        var text = new StringBuilder();
        try
        {
            var files = new List<string>();
            if (isDefault)
            {
                files.AddRange(Directory.EnumerateFiles(path).Select(f => Path.GetFileName(f)).Where(IsRelevant));
            }

            if (hasDirectory)
            {
                var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
                files.AddRange(Directory.EnumerateFiles(directory, "*", options).Select(f => Path.GetRelativePath(path, f)).Where(IsRelevant));
            }

            files.Sort(StringComparer.Ordinal);
            foreach (var relative in files)
            {
                Append(text, new FileInfo(Path.Combine(path, relative)), relative);
            }
        }
        catch (IOException e)
        {
            // A file vanished while listing: a different fingerprint makes the next look at this tenant read it again.
            text.Append(CultureInfo.InvariantCulture, $"(error {e.Message})");
        }

        return text.ToString();
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
