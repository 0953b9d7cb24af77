using System.Text.Json;
using System.Text.RegularExpressions;

namespace OrleansGateway.InfraCheck;

/// <summary>The final stage of a Dockerfile: what the image runs and as whom.</summary>
internal sealed partial record DockerImage(string? User, IReadOnlyList<string>? Entrypoint, IReadOnlyList<int> Exposed)
{
    /// <summary>The numeric user id of USER (USER 1654 or 1654:1654), else null.</summary>
    public int? NumericUser => User is not null && UserPattern().Match(User) is { Success: true } m ? int.Parse(m.Groups[1].Value) : null;

    public static DockerImage Read(string path)
    {
        // Continuation lines joined, comments dropped; only the instructions after the last FROM describe the image.
        var text = Regex.Replace(File.ReadAllText(path), @"\\\r?\n", " ");
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var last = lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase));
        string? user = null;
        IReadOnlyList<string>? entrypoint = null;
        var exposed = new List<int>();
        foreach (var line in lines.Skip(Math.Max(last, 0)))
        {
            var space = line.IndexOf(' ');
            var instruction = space < 0 ? line.ToUpperInvariant() : line[..space].ToUpperInvariant();
            var argument = space < 0 ? "" : line[(space + 1)..].Trim();
            switch (instruction)
            {
                case "USER":
                    user = argument;
                    break;
                case "ENTRYPOINT":
                    try
                    {
                        entrypoint = JsonSerializer.Deserialize<string[]>(argument);
                    }
                    catch (JsonException)
                    {
                        entrypoint = null;
                    }

                    break;
                case "EXPOSE":
                    exposed.AddRange(argument.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                        .Select(p => int.TryParse(p.Split('/')[0], out var port) ? port : 0));
                    break;
            }
        }

        return new DockerImage(user, entrypoint, exposed);
    }

    [GeneratedRegex(@"^(\d+)(:\d+)?$")]
    private static partial Regex UserPattern();
}
