using System.Collections.Immutable;
using OrleansGateway.Model.Loading;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Sources.ConfigDirectory;

/// <summary>
/// Which tenant each file of the config directory belongs to: files directly in the directory (or a single file given
/// as <c>--config-dir</c>) go to tenant <see cref="CompileOptions.DefaultTenant"/>; each subdirectory is one tenant
/// named after it, with every file below it. Dot-named files and directories are skipped, as the loader skips them.
/// </summary>
internal static class ConfigTenants
{
    /// <param name="only">Load only these tenants (the ones whose files changed); null: every tenant.</param>
    public static ImmutableSortedDictionary<string, LoadResult> Load(string path, IReadOnlySet<string>? only = null)
    {
        var tenants = ImmutableSortedDictionary.CreateBuilder<string, LoadResult>(StringComparer.Ordinal);
        if (!Directory.Exists(path))
        {
            tenants[CompileOptions.DefaultTenant] = ResourceLoader.LoadPath(path);
            return tenants.ToImmutable();
        }

        if (only is null || only.Contains(CompileOptions.DefaultTenant))
        {
            var topLevel = Directory.EnumerateFiles(path)
                .Where(f => ConfigFingerprint.IsRelevant(Path.GetFileName(f)))
                .Order(StringComparer.Ordinal)
                .Select(ResourceLoader.LoadPath);
            tenants[CompileOptions.DefaultTenant] = Concat(topLevel);
        }

        foreach (var directory in Directory.EnumerateDirectories(path).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(directory);
            if (!name.StartsWith('.') && (only is null || only.Contains(name)))
            {
                var load = ResourceLoader.LoadPath(directory);
                tenants[name] = tenants.TryGetValue(name, out var before) ? Concat([before, load]) : load;
            }
        }

        return tenants.ToImmutable();
    }

    private static LoadResult Concat(IEnumerable<LoadResult> loads)
    {
        var list = loads.ToList();
        return new LoadResult([.. list.SelectMany(l => l.Resources)], [.. list.SelectMany(l => l.Diagnostics)]);
    }
}
