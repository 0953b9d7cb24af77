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
    /// <summary>
    /// Each tenant's files, as a function that reads and parses them when called: the caller parses tenants in parallel
    /// and starts applying the first before the last is read (a start with thousands of tenants).
    /// </summary>
    /// <param name="only">Only these tenants (the ones whose files changed); null: every tenant.</param>
    public static ImmutableSortedDictionary<string, Func<LoadResult>> Load(string path, IReadOnlySet<string>? only = null)
    {
        var tenants = ImmutableSortedDictionary.CreateBuilder<string, Func<LoadResult>>(StringComparer.Ordinal);
        if (!Directory.Exists(path))
        {
            tenants[CompileOptions.DefaultTenant] = () => ResourceLoader.LoadPath(path);
            return tenants.ToImmutable();
        }

        if (only is null || only.Contains(CompileOptions.DefaultTenant))
        {
            var topLevel = Directory.EnumerateFiles(path)
                .Where(f => ConfigFingerprint.IsRelevant(Path.GetFileName(f)))
                .Order(StringComparer.Ordinal)
                .ToList();
            tenants[CompileOptions.DefaultTenant] = () => Concat(topLevel.Select(ResourceLoader.LoadPath));
        }

        foreach (var directory in Directory.EnumerateDirectories(path).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(directory);
            if (!name.StartsWith('.') && (only is null || only.Contains(name)))
            {
                LoadResult Read() => ResourceLoader.LoadPath(directory);
                tenants[name] = tenants.TryGetValue(name, out var before) ? () => Concat([before(), Read()]) : Read;
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
