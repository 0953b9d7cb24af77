using System.CommandLine;
using OrleansGateway.Proxy.Tls;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw dev-cert</c>: a self-signed certificate as a <c>kubernetes.io/tls</c> Secret, for trials only.</summary>
internal static class DevCertCommand
{
    public static Command Create(TextWriter output)
    {
        var hosts = new Option<string[]>("--host")
        {
            Description = "DNS name (or IP address) the certificate is for; repeat for more names.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var name = new Option<string>("--name") { Description = "metadata.name of the Secret.", Required = true };
        var @namespace = new Option<string>("--namespace")
        {
            Description = "metadata.namespace of the Secret.",
            DefaultValueFactory = _ => "default",
        };
        var file = new Option<FileInfo>("--out")
        {
            Description = "File to write the Secret YAML to (overwritten).",
            Required = true,
        };

        var command = new Command("dev-cert", "Write a kubernetes.io/tls Secret holding a new self-signed certificate (for trials, never production).")
        {
            hosts,
            name,
            @namespace,
            file,
        };
        command.SetAction(result =>
        {
            var target = result.GetValue(file)!;
            using var certificate = DevCertificates.CreateSelfSignedServer(result.GetValue(hosts)!);
            var yaml = DevCertificates.ToSecret(certificate, result.GetValue(name)!, result.GetValue(@namespace)!);
            target.Directory?.Create();
            File.WriteAllText(target.FullName, yaml);
            output.WriteLine($"wrote Secret '{result.GetValue(name)}' ({string.Join(", ", result.GetValue(hosts)!)}) to {target.FullName}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
