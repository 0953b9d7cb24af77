using System.Text.Json;
using OrleansGateway.InfraCheck;

// tools/check-publish-run.sh: the args and env of a Deployment's first container, as the manifest spells them.
if (args is ["container", var manifestFile, var deployment])
{
    return ContainerSpec.Print(manifestFile, deployment, Console.Out, Console.Error);
}

// tools/check-infra.sh runs this after `bicep build infra/main.bicep`: infra-check REPO COMPILED-MAIN-JSON.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: infra-check REPOSITORY-ROOT COMPILED-MAIN-JSON   (the JSON `bicep build infra/main.bicep --stdout` prints)");
    Console.Error.WriteLine("       infra-check container MANIFEST-FILE DEPLOYMENT-NAME");
    return 2;
}

JsonDocument compiled;
try
{
    compiled = JsonDocument.Parse(File.ReadAllText(args[1]));
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
{
    Console.Error.WriteLine($"infra-check: cannot read the compiled template '{args[1]}': {e.Message}");
    return 2;
}

var report = InfraChecker.Run(Path.GetFullPath(args[0]), compiled);
foreach (var problem in report.Problems)
{
    Console.Error.WriteLine($"infra-check: {problem}");
}

Console.WriteLine(report.Problems.Count == 0
    ? "infra-check: ok (azure.yaml, main.parameters.json, Bicep outputs, manifests, RBAC, CRDs, Dockerfile)"
    : $"infra-check: {report.Problems.Count} problem(s)");
return report.Problems.Count == 0 ? 0 : 1;
