using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Model.Loading;

/// <summary>Which files <see cref="ResourceLoader.LoadPath"/> reads, in a deterministic order.</summary>
internal static class FileWalker
{
    public static List<string> Files(string path, List<Diagnostic> diagnostics)
    {
        if (File.Exists(path))
        {
            return [path];
        }

        if (!Directory.Exists(path))
        {
            diagnostics.Add(new Diagnostic(Severity.Error, DiagnosticCodes.IoError,
                $"'{path}' does not exist (expected a YAML/JSON file or a directory of them)"));
            return [];
        }

        var relative = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        Walk(path, "", relative, visited, diagnostics);

        // Ordinal order of the relative path: the same on every machine and file system.
        relative.Sort(StringComparer.Ordinal);
        return relative.ConvertAll(r => Path.Join(path, r));
    }

    private static void Walk(string root, string relativeDirectory, List<string> files, HashSet<string> visited, List<Diagnostic> diagnostics)
    {
        var directory = new DirectoryInfo(Path.Join(root, relativeDirectory));

        // Followed symlinks could make a cycle; each real directory is walked once.
        var real = directory.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? directory.FullName;
        if (!visited.Add(real))
        {
            return;
        }

        FileSystemInfo[] entries;
        try
        {
            entries = directory.GetFileSystemInfos();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            diagnostics.Add(new Diagnostic(Severity.Error, DiagnosticCodes.IoError,
                $"cannot list '{directory}': {ex.Message}; its files were not read"));
            return;
        }

        foreach (var entry in entries)
        {
            // Kubernetes ConfigMap/Secret mounts keep the real files under ..data and timestamped dot-directories.
            if (entry.Name.StartsWith('.'))
            {
                continue;
            }

            var relative = relativeDirectory.Length == 0 ? entry.Name : Path.Join(relativeDirectory, entry.Name);
            if (IsDirectory(entry))
            {
                Walk(root, relative, files, visited, diagnostics);
            }
            else if (HasResourceExtension(entry.Name))
            {
                files.Add(relative);
            }
        }
    }

    private static bool IsDirectory(FileSystemInfo entry) =>
        entry is DirectoryInfo || (entry.LinkTarget is not null && Directory.Exists(entry.FullName));

    private static bool HasResourceExtension(string name) =>
        name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) ||
        name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) ||
        name.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
}
