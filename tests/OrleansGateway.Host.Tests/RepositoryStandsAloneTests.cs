using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// The repository stands alone: every rule it implements is written in docs/ (behaviour and the deviations from Emissary
/// in docs/tcpmapping-semantics.md), and code, tests and docs cite those pages, RFCs or tests, never notes that are not
/// in the repository, nor a path of one machine. The check reads every file git tracks, so it needs git and the work
/// tree; run from a published folder it reports itself skipped.
/// </summary>
public sealed class RepositoryStandsAloneTests
{
    // Every pattern is assembled from pieces, so this file does not match its own patterns (a grep of the repository
    // for them finds nothing here either); the scan skips this file as well.
    private const string Sign = "\u00a7";
    private const string DocsReference = @"docs/[\w./-]+\.md";

    private static readonly (string What, Regex Pattern)[] Forbidden =
    [
        ("a note outside the repository",
            // tests/Shared and bench/Shared are the repository's own folders, so only the lower-case sibling is outside.
            new Regex(@"(?i:" + "shar" + @"ed/(spec|research|style|design|hooks)\b)|\.\./" + "shar" + @"ed\b")),
        ("a note outside the repository",
            new Regex("(emissary-" + "semantics|dotnet-proxy-" + @"performance|stand-" + @"ins\.md|azd-" + @"aks\.md|emissary-" + @"tcpmapping\.txt)", RegexOptions.IgnoreCase)),
        ("a note outside the repository (an upper-case design or style file)",
            new Regex(@"\b(HO" + @"USE|ARCHI" + @"TECTURE)\.md\b")),
        ("a numbered section of a document that is not named in the repository",
            new Regex(@"(?i)(\bsec" + @"tion[ -]?|" + Sign + @" ?)1" + "7" + @"\b(?!.*" + DocsReference + ")")),
        ("a numbered section of an outside note",
            new Regex(@"(?i)\bre" + @"search\s*(" + Sign + @"|sec" + @"tion)")),
        ("a section sign that names no document (cite a docs/ page, an RFC or a test)",
            new Regex("^(?!.*(RFC|" + DocsReference + "))" + @".*?" + Sign + @"\s*\d")),
        ("a path of one machine",
            new Regex(@"(?<![\w.~-])/(wo" + @"rk|ro" + @"ot)/|(?<![\w.~-])/(ho" + @"me|Us" + @"ers)/[^/\s]+/|\b[A-Za-z]:\\Us" + @"ers\\")),
    ];

    [Fact]
    public async Task No_tracked_file_refers_outside_the_repository()
    {
        var token = TestContext.Current.CancellationToken;
        var (found, top, why) = await Git(AppContext.BaseDirectory, ["rev-parse", "--show-toplevel"], token);
        Assert.SkipUnless(found, why);
        Assert.SkipWhen(top.Length == 0, $"the tests do not run inside a git work tree (e.g. from a published folder): {why}");
        var root = top.Trim();
        Assert.SkipUnless(File.Exists(Path.Combine(root, "OrleansGateway.sln")), $"{root} is not this repository's work tree");

        var (_, listing, error) = await Git(root, ["ls-files", "-z"], token);
        var files = listing.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(files.Length > 0, $"git ls-files listed nothing in {root}: {error}");

        var findings = new List<string>();
        var scanned = 0;
        foreach (var file in files)
        {
            var path = Path.Combine(root, file);
            if (Path.GetFileName(file) == nameof(RepositoryStandsAloneTests) + ".cs" || !File.Exists(path))
            {
                continue;
            }

            var bytes = await File.ReadAllBytesAsync(path, token);
            if (IsBinary(bytes))
            {
                continue;
            }

            scanned++;
            var lines = Encoding.UTF8.GetString(bytes).Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                findings.AddRange(Findings(lines[i]).Select(what => $"{file}:{i + 1}: {what}: {lines[i].Trim()}"));
            }
        }

        Assert.True(scanned > 100, $"only {scanned} text files were scanned in {root}");
        Assert.True(findings.Count == 0,
            "State the rule in docs/ (docs/tcpmapping-semantics.md for behaviour and deviations) and cite that page, an RFC or a test:\n"
            + string.Join('\n', findings));
    }

    /// <summary>The patterns catch each kind of outside reference (the pieces keep this file clean of them).</summary>
    [Theory]
    [InlineData("as " + "shar" + "ed/re" + "search/x.md says")]
    [InlineData("see ../" + "shar" + "ed/spec/emissary-" + "tcpmapping.txt")]
    [InlineData("ls ../" + "shar" + "ed")]
    [InlineData("the " + "dotnet-proxy-" + "performance.md figures")]
    [InlineData("refines " + "ARCHI" + "TECTURE.md")]
    [InlineData("// Sec" + "tion 17: weights are percentages")]
    [InlineData("the sec" + "tion-17 row")]
    [InlineData("| \u00a7" + "17 weights row |")]
    [InlineData("(re" + "search \u00a7" + "4.1)")]
    [InlineData("Emissary's cluster identity (\u00a7" + "4.2)")]
    [InlineData("cat /wo" + "rk/main/README.md")]
    [InlineData("built in /ho" + "me/alice/src/ogw")]
    [InlineData(@"C:\Us" + @"ers\bob\ogw")]
    public void An_outside_reference_is_found(string line) => Assert.NotEmpty(Findings(line));

    /// <summary>References inside the repository, RFCs and ordinary paths pass.</summary>
    [Theory]
    [InlineData("<Compile Include=\"../Shared/*.cs\" LinkBase=\"Shared\" />")]
    [InlineData("Keeps the layering of docs/architecture.md true")]
    [InlineData("(docs/tcpmapping-semantics.md, row 4)")]
    [InlineData("sec" + "tion 17 of docs/example.md")]
    [InlineData("RFC 8446 \u00a7" + "4.2 says so")]
    [InlineData("npm install --prefix /tmp/azurite-bench azurite")]
    [InlineData("data in `.tmp/azurite`")]
    [InlineData("https://example.com/ho" + "me/page")]
    [InlineData("load_module /usr/lib/nginx/modules/ngx_stream_module.so;")]
    public void A_reference_inside_the_repository_passes(string line) => Assert.Empty(Findings(line));

    private static IEnumerable<string> Findings(string line) =>
        Forbidden.Where(f => f.Pattern.IsMatch(line)).Select(f => f.What).Distinct();

    /// <summary>As git decides: a NUL byte in the first 8000 bytes makes a file binary.</summary>
    private static bool IsBinary(byte[] bytes) => bytes.AsSpan(0, Math.Min(bytes.Length, 8000)).Contains((byte)0);

    /// <summary>Runs git; Found is false (with the reason) when git is not installed.</summary>
    private static async Task<(bool Found, string Output, string Error)> Git(string directory, string[] args, CancellationToken token)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            return (false, "", $"git is not installed here ({e.Message})");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(token);
            var error = process.StandardError.ReadToEndAsync(token);
            await process.WaitForExitAsync(token);
            return process.ExitCode == 0 ? (true, await output, await error) : (true, "", (await error).Trim());
        }
    }
}
