using System.Globalization;
using System.Text;

namespace OrleansGateway.Sources.ConfigDirectory;

/// <summary>
/// A cheap summary of the files the loader reads (path, size, mtime): equal fingerprints mean nothing to reload.
/// It follows the loader's rules: <c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>, recursively, skipping dot-names.
/// </summary>
internal static class ConfigFingerprint
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    public static string Of(string path)
    {
        var text = new StringBuilder();
        try
        {
            if (File.Exists(path))
            {
                Append(text, new FileInfo(path), Path.GetFileName(path));
            }
            else if (Directory.Exists(path))
            {
                var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
                var files = Directory.EnumerateFiles(path, "*", options)
                    .Select(f => Path.GetRelativePath(path, f))
                    .Where(IsRelevant)
                    .Order(StringComparer.Ordinal);
                foreach (var relative in files)
                {
                    Append(text, new FileInfo(Path.Combine(path, relative)), relative);
                }
            }
            else
            {
                text.Append("(missing)");
            }
        }
        catch (IOException e)
        {
            // A file vanished while listing: a different fingerprint makes the next poll look again.
            text.Append(CultureInfo.InvariantCulture, $"(error {e.Message})");
        }

        return text.ToString();
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
