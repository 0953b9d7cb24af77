using System.Globalization;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary>The human form of a <see cref="CheckReport"/>: resources, then listeners with routes, then file-level findings.</summary>
internal static class TextReport
{
    public static void Write(CheckReport report, TextWriter output)
    {
        output.WriteLine($"ambassador_id: {report.AmbassadorId}");
        output.WriteLine();
        WriteResources(report, output);
        output.WriteLine();
        WriteListeners(report, output);

        var fileLevel = report.Diagnostics.Where(d => d.Resource is null).ToList();
        if (fileLevel.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("Files:");
            foreach (var d in fileLevel)
            {
                output.WriteLine($"  {d.Severity}: {DiagnosticText.Where(d)}{d.Message}");
            }
        }

        output.WriteLine();
        output.WriteLine(
            $"{Count(report, "Accepted")} accepted, {Count(report, "Discarded")} discarded, {Count(report, "Ignored")} ignored; "
            + $"{report.Listeners.Length} listener(s); {fileLevel.Count(d => d.Severity == "error")} file error(s).");
    }

    private static void WriteResources(CheckReport report, TextWriter output) => WriteResources(report.Resources, output);

    /// <summary>KIND, NAMESPACE/NAME, STATUS and MESSAGES, one row per resource; also what <c>ogw get</c> and <c>ogw apply</c> print.</summary>
    public static void WriteResources(IReadOnlyList<ResourceReport> resources, TextWriter output)
    {
        if (resources.Count == 0)
        {
            output.WriteLine("No resources.");
            return;
        }

        var kindWidth = Math.Max("KIND".Length, resources.Max(r => r.Kind.Length));
        var nameWidth = Math.Max("NAME".Length, resources.Max(r => r.Namespace.Length + 1 + r.Name.Length));
        const int statusWidth = 9;
        var indent = new string(' ', kindWidth + nameWidth + statusWidth + 6);

        output.WriteLine($"{"KIND".PadRight(kindWidth)}  {"NAME".PadRight(nameWidth)}  {"STATUS".PadRight(statusWidth)}  MESSAGES");
        foreach (var r in resources)
        {
            var first = r.Messages.IsEmpty ? "" : r.Messages[0];
            output.WriteLine($"{r.Kind.PadRight(kindWidth)}  {($"{r.Namespace}/{r.Name}").PadRight(nameWidth)}  {r.Status.PadRight(statusWidth)}  {first}".TrimEnd());
            foreach (var message in r.Messages.Skip(1))
            {
                output.WriteLine($"{indent}{message}");
            }
        }
    }

    private static void WriteListeners(CheckReport report, TextWriter output)
    {
        if (report.Listeners.IsEmpty)
        {
            output.WriteLine("No listeners.");
            return;
        }

        output.WriteLine("Listeners:");
        foreach (var l in report.Listeners)
        {
            var address = l.Address.Contains(':') ? $"[{l.Address}]:{l.Port}" : $"{l.Address}:{l.Port}";
            output.WriteLine($"  {address}  {(l.Tls ? "tls" : "tcp")}  {l.Name}  (stats: {l.StatsPrefix})");
            foreach (var route in l.Routes)
            {
                var certificate = route.CertificateSource is null ? "" : $"  [certificate from {route.CertificateSource}]";
                output.WriteLine($"    {route.Host ?? "(catch-all)"}{certificate}");
                foreach (var u in route.Upstreams)
                {
                    var tls = u.OriginateTls ? u.Sni is null ? "  tls" : $"  tls sni={u.Sni}" : "";
                    var share = u.Share.ToString("0.###", CultureInfo.InvariantCulture);
                    output.WriteLine($"      -> {u.Service}  {share}%  ({u.Mapping}){tls}");
                }
            }
        }
    }

    private static int Count(CheckReport report, string status) => report.Resources.Count(r => r.Status == status);
}
