using OrleansGateway.InfraCheck;

namespace OrleansGateway.Infra.Tests;

/// <summary>
/// The offline checks of docs/deploy.md ("What CI checks") on the repository's own files, and on copies with one
/// mistake each: every kind of mistake a deployment would trip over must be reported, naming the file.
/// </summary>
public sealed class InfraCheckTests
{
    public static TheoryData<string, string, string, string, string> Mistakes => new()
    {
        { "template syntax outside *.tmpl.yaml", "infra/k8s/gateway/30-services.yaml", "  name: ogw-api\n", "  name: ogw-api\n  annotations:\n    region: \"{{.Env.AZURE_LOCATION}}\"\n", "only *.tmpl.yaml files are templates" },
        { "a value neither Bicep nor azd sets", "infra/k8s/gateway/40-core.tmpl.yaml", "AZURE_STORAGE_TABLE_ENDPOINT", "AZURE_STORAGE_TABLE_URL", "AZURE_STORAGE_TABLE_URL is neither an output" },
        { "shell-style variable", "infra/k8s/gateway/40-core.tmpl.yaml", "- ogw-api\n", "- ${API_CERT}\n", "substituted by neither azd nor Kubernetes" },
        { "an image azd did not build", "infra/k8s/gateway/50-edge.tmpl.yaml", "\"{{.Env.SERVICE_GATEWAY_IMAGE_NAME}}\"", "ghcr.io/someone/ogw:latest", "the image azd built" },
        { "no LoadBalancer Service", "infra/k8s/gateway/30-services.yaml", "type: LoadBalancer", "type: ClusterIP", "no Service of type LoadBalancer" },
        { "the Service cannot be patched", "infra/k8s/gateway/20-rbac.yaml", "verbs: [\"get\", \"patch\"]", "verbs: [\"get\"]", "may not get and patch" },
        { "every Service may be patched", "infra/k8s/gateway/20-rbac.yaml", "    resourceNames: [\"ogw-edge\"]\n", "", "may patch every Service" },
        { "no workload identity label", "infra/k8s/gateway/40-core.tmpl.yaml", "        azure.workload.identity/use: \"true\"\n", "", "needs the label azure.workload.identity/use" },
        { "an unquoted label value", "infra/k8s/gateway/50-edge.tmpl.yaml", "azure.workload.identity/use: \"true\"", "azure.workload.identity/use: true", "must be the string \"true\"" },
        { "another service account", "infra/k8s/gateway/40-core.tmpl.yaml", "serviceAccountName: ogw-silo", "serviceAccountName: default", "service account default is not among the manifests" },
        { "a user name in the Dockerfile", "Dockerfile", "USER 1654", "USER app", "numeric non-root USER" },
        { "the API on loopback", "infra/k8s/gateway/40-core.tmpl.yaml", "https://0.0.0.0:8080", "https://127.0.0.1:8080", "listens on loopback only" },
        { "a probe in plain HTTP to the HTTPS API", "infra/k8s/gateway/40-core.tmpl.yaml", "              scheme: HTTPS\n              path: /readyz", "              path: /readyz", "uses HTTP but --api-url is https" },
        { "a probe with a host", "infra/k8s/gateway/50-edge.tmpl.yaml", "              path: /healthz\n              port: api\n            periodSeconds: 10", "              path: /healthz\n              port: api\n              host: 127.0.0.1\n            periodSeconds: 10", "sets host 127.0.0.1" },
        { "an unknown azure.yaml key", "azure.yaml", "      deploymentPath:", "      deploymentPaths:", "unknown key services.gateway.k8s.deploymentPaths" },
        { "a Dockerfile path azd cannot find", "azure.yaml", "path: ../../Dockerfile", "path: ./Dockerfile", "docker.path resolves to src/OrleansGateway.Silo/Dockerfile" },
        { "a deployment name azd waits for in vain", "azure.yaml", "        name: ogw-edge\n      service:", "        name: ogw-gateway\n      service:", "matches no Deployment" },
        { "Services cannot be watched", "infra/k8s/gateway/20-rbac.yaml", "    resources: [\"services\"]\n    verbs: [\"get\", \"list\", \"watch\"]\n", "    resources: [\"services\"]\n    verbs: [\"get\"]\n", "watch on core services is not granted" },
        { "RBAC that writes resources", "infra/k8s/gateway/20-rbac.yaml", "    verbs: [\"get\", \"list\", \"watch\"]\n  # Status only", "    verbs: [\"get\", \"list\", \"watch\", \"update\"]\n  # Status only", "never the resources" },
        { "a CRD without the status subresource", "infra/k8s/crds/getambassador.io_modules.yaml", "      subresources:\n        status: {}\n", "", "needs the status subresource" },
        { "a federated credential for another account", "infra/main.bicep", "var serviceAccountName = 'ogw-silo'", "var serviceAccountName = 'ogw-gateway'", "the federated credential's subject is system:serviceaccount:orleans-gateway:ogw-gateway" },
        { "an output azd's AKS target needs", "infra/main.bicep", "output AZURE_AKS_CLUSTER_NAME string = cluster.outputs.name\n", "", "output AZURE_AKS_CLUSTER_NAME is missing" },
        { "a bicepconfig.json", "infra/main.parameters.json", "{", "{", "no bicepconfig.json" },
    };

    [BicepFact]
    public void EveryBicepFileBuildsAndLintsWithoutAnyDiagnostic()
    {
        var files = Directory.EnumerateFiles(Path.Combine(Deployment.Root, "infra"), "*.bicep", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.EndsWith("main.bicep", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var (exit, output, error) = Deployment.Run(Deployment.Bicep!, ["lint", file]);
            Assert.True(exit == 0 && output.Length == 0 && error.Length == 0, $"bicep lint {file}: exit {exit}: {output}{error}");
        }

        Assert.True(Deployment.CompiledMain.RootElement.TryGetProperty("outputs", out _));
    }

    [BicepFact]
    public void ALintWarningIsReported()
    {
        var copy = Deployment.Copy();
        File.AppendAllText(Path.Combine(copy, "infra", "main.bicep"), "\nparam unusedSetting string = 'x'\n");

        var (_, output, error) = Deployment.Run(Deployment.Bicep!, ["lint", Path.Combine(copy, "infra", "main.bicep")]);

        Assert.Contains("Warning no-unused-params", output + error);
    }

    [BicepFact]
    public void TheRepositorysDeploymentFilesPassEveryCheck()
    {
        var report = InfraChecker.Run(Deployment.Root, Deployment.CompiledMain);

        Assert.Empty(report.Problems);
    }

    [BicepTheory]
    [MemberData(nameof(Mistakes))]
    public void ASeededMistakeIsReported(string mistake, string file, string oldText, string newText, string expected)
    {
        var copy = Deployment.Copy();
        Deployment.Replace(copy, file, oldText, newText);
        if (mistake == "a bicepconfig.json")
        {
            File.WriteAllText(Path.Combine(copy, "infra", "bicepconfig.json"), "{ \"analyzers\": { \"core\": { \"enabled\": false } } }\n");
        }

        var compiled = file.EndsWith(".bicep", StringComparison.Ordinal) ? Deployment.Compile(copy) : Deployment.CompiledMain;

        var report = InfraChecker.Run(copy, compiled);

        Assert.Contains(report.Problems, p => p.Contains(expected, StringComparison.Ordinal));
    }
}
