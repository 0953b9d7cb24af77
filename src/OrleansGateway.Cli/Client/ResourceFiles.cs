using System.Text;
using System.Text.Json;

namespace OrleansGateway.Cli.Client;

/// <summary>One file of an apply, named as the user named it so that diagnostics point at it.</summary>
internal sealed record ResourceFile(string Path, string Content);

/// <summary>
/// The files <c>ogw apply -f</c> and <c>ogw delete -f</c> read: FILE itself, or every <c>*.yaml</c>, <c>*.yml</c>
/// and <c>*.json</c> under DIR, recursively, skipping dot-names, in ordinal order of relative path — the config
/// directory's rules (the model's FileWalker), so a directory means the same to <c>ogw apply</c> as to the gateway.
/// </summary>
internal static class ResourceFiles
{
    public const string MediaType = "application/vnd.ogw.files+json";

    /// <summary>The files and their text; a problem (missing path, unreadable file, empty directory) fails with exit code 1.</summary>
    public static IReadOnlyList<ResourceFile> Read(string path)
    {
        var files = new List<ResourceFile>();
        foreach (var file in Find(path))
        {
            try
            {
                files.Add(new ResourceFile(file.Replace('\\', '/'), File.ReadAllText(file)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ClientFailureException(ClientExitCodes.Refused, $"cannot read '{file}': {e.Message}; nothing was sent.");
            }
        }

        return files.Count > 0
            ? files
            : throw new ClientFailureException(
                ClientExitCodes.Refused, $"'{path}' holds no .yaml, .yml or .json file (dot-names are skipped); nothing was sent.");
    }

    /// <summary>The body of one atomic apply of several files: <c>{"files": [{"path", "content"}]}</c>.</summary>
    public static StringContent Body(IReadOnlyList<ResourceFile> files) => new(
        JsonSerializer.Serialize(new { files = files.Select(f => new { path = f.Path, content = f.Content }) }),
        Encoding.UTF8,
        MediaType);

    private static List<string> Find(string path)
    {
        if (File.Exists(path))
        {
            return [path];
        }

        if (!Directory.Exists(path))
        {
            throw new ClientFailureException(
                ClientExitCodes.Refused, $"'{path}' does not exist; give a resource file or a directory of them. Nothing was sent.");
        }

        var relative = new List<string>();
        Walk(path, "", relative, new HashSet<string>(StringComparer.Ordinal));
        relative.Sort(StringComparer.Ordinal);
        return relative.ConvertAll(r => System.IO.Path.Join(path, r));
    }

    private static void Walk(string root, string relativeDirectory, List<string> files, HashSet<string> visited)
    {
        var directory = new DirectoryInfo(System.IO.Path.Join(root, relativeDirectory));

        // Followed symlinks could make a cycle; each real directory is walked once.
        if (!visited.Add(directory.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? directory.FullName))
        {
            return;
        }

        FileSystemInfo[] entries;
        try
        {
            entries = directory.GetFileSystemInfos();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientFailureException(ClientExitCodes.Refused, $"cannot list '{directory}': {e.Message}; nothing was sent.");
        }

        foreach (var entry in entries)
        {
            // Kubernetes ConfigMap mounts keep the real files under ..data and timestamped dot-directories.
            if (entry.Name.StartsWith('.'))
            {
                continue;
            }

            var relative = relativeDirectory.Length == 0 ? entry.Name : System.IO.Path.Join(relativeDirectory, entry.Name);
            if (entry is DirectoryInfo || (entry.LinkTarget is not null && Directory.Exists(entry.FullName)))
            {
                Walk(root, relative, files, visited);
            }
            else if (entry.Name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
                     || entry.Name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
                     || entry.Name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                files.Add(relative);
            }
        }
    }
}
