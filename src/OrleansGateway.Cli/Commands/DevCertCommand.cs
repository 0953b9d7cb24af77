using System.CommandLine;
using System.Text;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Model.Resources;
using OrleansGateway.Reporting;

namespace OrleansGateway.Cli.Commands;

/// <summary><c>ogw dev-cert</c>: a self-signed certificate as a <c>kubernetes.io/tls</c> Secret, for trials only.</summary>
internal static class DevCertCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var hosts = new Option<string[]>("--host")
        {
            Description = "DNS name the certificate is for (the first is its CN); repeat for more names.",
            Required = true,
        };
        var name = new Option<string>("--name") { Description = "metadata.name of the Secret.", Required = true };
        var @namespace = new Option<string>("--namespace")
        {
            Description = "metadata.namespace of the Secret.",
            DefaultValueFactory = _ => "default",
        };
        var file = new Option<FileInfo>("--out") { Description = "File to write the Secret YAML to (overwritten).", Required = true };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 365 };
        days.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--days must be at least 1");
            }
        });

        var command = new Command(
            "dev-cert",
            "Write a kubernetes.io/tls Secret holding a new self-signed certificate and its unencrypted key (for trials, never production).")
        {
            hosts,
            name,
            @namespace,
            file,
            days,
        };
        command.SetAction(result =>
        {
            var target = result.GetValue(file)!;
            var names = result.GetValue(hosts)!;
            using var certificate = DevCertificates.CreateSelfSignedServer(names, result.GetValue(days));
            var secret = DevCertificates.ToSecret(result.GetValue(name)!, result.GetValue(@namespace)!, certificate);
            try
            {
                target.Directory?.Create();
                File.WriteAllText(target.FullName, ToYaml(secret));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"ogw dev-cert: cannot write {target.FullName}: {e.Message}");
                return ExitCodes.Failed;
            }

            output.WriteLine($"wrote Secret {secret.Namespace}/{secret.Name} for {string.Join(", ", names)} to {target.FullName}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The Secret as <c>kubectl get secret -o yaml</c> would show it: base64 <c>data</c>, so it applies to a cluster as is.</summary>
    private static string ToYaml(SecretResource secret)
    {
        var yaml = new StringBuilder()
            .Append("# Made by `ogw dev-cert`: a self-signed certificate for trials. Its private key is not protected.\n")
            .Append("apiVersion: v1\n")
            .Append("kind: Secret\n")
            .Append("metadata:\n")
            .Append($"  name: {secret.Name}\n")
            .Append($"  namespace: {secret.Namespace}\n")
            .Append($"type: {secret.Type}\n")
            .Append("data:\n")
            .Append($"  tls.crt: {Base64(secret.TlsCrt!)}\n")
            .Append($"  tls.key: {Base64(secret.TlsKey!)}\n");
        return yaml.ToString();
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));
}
