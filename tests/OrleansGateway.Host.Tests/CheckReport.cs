using System.Text.Json;
using OrleansGateway.Cli;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// <c>ogw check PATH --output json</c> run in-process (the real command, its JSON contract read as a client reads it):
/// the exit code and the report, with the look-ups the tests make of it.
/// </summary>
internal sealed class CheckReport : IDisposable
{
    private readonly JsonDocument _json;

    private CheckReport(int exit, JsonDocument json)
    {
        Exit = exit;
        _json = json;
    }

    public int Exit { get; }

    public JsonElement Root => _json.RootElement;

    public List<JsonElement> Resources => [.. Root.GetProperty("resources").EnumerateArray()];

    public List<JsonElement> Diagnostics => [.. Root.GetProperty("diagnostics").EnumerateArray()];

    public static CheckReport Run(string path, params string[] extra)
    {
        var output = new StringWriter();
        var exit = Program.Run(["check", path, "--output", "json", .. extra], output, new StringWriter());
        return new CheckReport(exit, JsonDocument.Parse(output.ToString()));
    }

    /// <summary>The one resource named <paramref name="name"/> (fails unless there is exactly one).</summary>
    public JsonElement Resource(string name) => Assert.Single(Resources, r => r.GetProperty("name").GetString() == name);

    /// <summary>The status (<c>Accepted</c>, <c>Discarded</c>, ...) of the one resource named <paramref name="name"/>.</summary>
    public string? Status(string name) => Resource(name).GetProperty("status").GetString();

    /// <summary>The one diagnostic with <paramref name="code"/> (fails unless there is exactly one).</summary>
    public JsonElement Diagnostic(string code) => Diagnostic(d => d.GetProperty("code").GetString() == code);

    public JsonElement Diagnostic(Func<JsonElement, bool> match) => Assert.Single(Diagnostics, d => match(d));

    public void Dispose() => _json.Dispose();
}
