using System.CommandLine;
using System.Text.Json;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw check DIR</c>: what the gateway would serve from DIR, and why each resource is or is not served.</summary>
internal static class CheckCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var shared = new SharedOptions();
        var path = new Argument<string>("DIR")
        {
            Description = "Directory of YAML/JSON resources (read recursively, dot-names skipped), or a single file.",
        };
        var format = new Option<string>("--output", "-o")
        {
            Description = "Output format: text (a table) or json (the same shape as the gateway's /status).",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json");

        var command = new Command(
            "check",
            "Load, compile and validate resources (TLS Secrets included) offline. "
            + "Exit code 0: everything is served; 1: something is Discarded or a file could not be read; 2: usage error.")
        {
            path,
            format,
        };
        foreach (var option in shared.All)
        {
            command.Add(option);
        }

        command.SetAction(result =>
        {
            if (shared.Validate(result) is { } problem)
            {
                error.WriteLine($"ogw check: {problem}");
                return ExitCodes.Usage;
            }

            var target = result.GetValue(path)!;
            if (!Directory.Exists(target) && !File.Exists(target))
            {
                error.WriteLine($"ogw check: '{target}' does not exist; give a directory of resources or a resource file.");
                return ExitCodes.Usage;
            }

            var evaluation = ConfigEvaluator.Evaluate(target, result.GetValue(shared.AmbassadorId)!, shared.CompileOptions(result));
            var report = GatewayReport.ForCheck(evaluation);
            if (result.GetValue(format) == "json")
            {
                output.WriteLine(JsonSerializer.Serialize(report, GatewayReport.Json));
            }
            else
            {
                TextReport.Write(report, output);
            }

            return evaluation.HasDiscarded || evaluation.HasErrors ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return command;
    }
}
