using System.Text.Json;

namespace OrleansGateway.InfraCheck;

internal sealed record Report(IReadOnlyList<string> Problems);

/// <summary>Every offline check of the deployment files (docs/deploy.md, "What CI checks").</summary>
internal static class InfraChecker
{
    /// <summary>Where the getambassador.io CRDs live: outside every folder azd applies (it applies them all, recursively).</summary>
    public const string CrdFolder = "infra/k8s/crds";

    /// <summary>The kinds the gateway watches (issue contract: getambassador.io/v3alpha1 plurals).</summary>
    public static readonly string[] Kinds =
        ["tcpmappings", "listeners", "hosts", "tlscontexts", "modules", "kubernetesserviceresolvers", "kubernetesendpointresolvers", "consulresolvers"];

    public static Report Run(string repo, JsonDocument compiledMain)
    {
        var problems = new List<string>();
        var outputs = Arm.Outputs(compiledMain);
        foreach (var required in new[] { "AZURE_AKS_CLUSTER_NAME", "AZURE_CONTAINER_REGISTRY_ENDPOINT" })
        {
            if (!outputs.Contains(required))
            {
                problems.Add($"infra/main.bicep: output {required} is missing; azd's AKS target needs it");
            }
        }

        foreach (var config in Directory.EnumerateFiles(repo, "bicepconfig.json", SearchOption.AllDirectories)
                     .Where(f => !Path.GetRelativePath(repo, f).Split(Path.DirectorySeparatorChar).Any(p => p is ".git" or ".tmp" or "node_modules" or "bin" or "obj")))
        {
            problems.Add($"{Path.GetRelativePath(repo, config)}: no bicepconfig.json: the linter runs with its default rules, none silenced");
        }

        CheckParameters(repo, compiledMain, problems);
        var services = AzureYaml.Check(repo, problems);
        var known = new HashSet<string>(outputs, StringComparer.Ordinal);
        known.UnionWith(Manifests.AzdValues);
        known.UnionWith(services.Select(s => s.ImageVariable));

        var crdKinds = CheckCrds(repo, services, problems);
        var subjects = Arm.FederatedSubjects(compiledMain);
        foreach (var service in services.Where(s => s.DeploymentPath is not null && Directory.Exists(s.DeploymentPath) && s.Namespace is not null))
        {
            var image = service.Dockerfile is not null && File.Exists(service.Dockerfile) ? DockerImage.Read(service.Dockerfile) : null;
            CheckDockerfile(repo, service, image, problems);
            var manifests = Manifests.Load(repo, service, known, problems);
            Manifests.Check(repo, service, manifests, image, subjects, crdKinds, problems);
            Manifests.CheckServicePatch(service, manifests, problems);
        }

        return new Report(problems);
    }

    /// <summary>Every parameter main.parameters.json sets is one main.bicep declares (azd would drop the others).</summary>
    private static void CheckParameters(string repo, JsonDocument compiledMain, List<string> problems)
    {
        const string file = "infra/main.parameters.json";
        var path = Path.Combine(repo, file);
        if (!File.Exists(path))
        {
            problems.Add($"{file} is missing");
            return;
        }

        var declared = compiledMain.RootElement.TryGetProperty("parameters", out var p) ? p.EnumerateObject().Select(o => o.Name).ToHashSet() : [];
        try
        {
            using var parameters = JsonDocument.Parse(File.ReadAllText(path));
            foreach (var name in parameters.RootElement.GetProperty("parameters").EnumerateObject().Select(o => o.Name).Where(n => !declared.Contains(n)))
            {
                problems.Add($"{file}: parameter {name} is not declared in infra/main.bicep");
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            problems.Add($"{file}: not a parameters file ({e.Message})");
        }
    }

    private static void CheckDockerfile(string repo, AksService service, DockerImage? image, List<string> problems)
    {
        if (image is null)
        {
            return;
        }

        var file = Path.GetRelativePath(repo, service.Dockerfile!);
        if (image.Entrypoint is not { Count: > 0 })
        {
            problems.Add($"{file}: the final stage needs an exec-form ENTRYPOINT [\"dotnet\", \"...dll\"]; the manifests pass options as args");
        }

        if (image.NumericUser is null)
        {
            problems.Add($"{file}: the final stage must run as a numeric non-root USER (e.g. 1654, the .NET images' app user), not '{image.User ?? "root"}'");
        }
        else if (image.NumericUser == 0)
        {
            problems.Add($"{file}: USER 0 is root");
        }

        if (image.Exposed.Count == 0)
        {
            problems.Add($"{file}: EXPOSE documents no port");
        }
    }

    /// <summary>The CRDs: one per watched kind, v3alpha1 served and stored, with a status subresource.</summary>
    private static IReadOnlySet<string> CheckCrds(string repo, List<AksService> services, List<string> problems)
    {
        var folder = Path.GetFullPath(Path.Combine(repo, CrdFolder));
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(folder))
        {
            problems.Add($"{CrdFolder} is missing");
            return new HashSet<string>(Kinds);
        }

        foreach (var service in services.Where(s => s.DeploymentPath is not null))
        {
            var relative = Path.GetRelativePath(service.DeploymentPath!, folder);
            if (relative == "." || !relative.StartsWith("..", StringComparison.Ordinal))
            {
                problems.Add($"{CrdFolder} is inside the deploymentPath of service {service.Name}: azd would apply the CRDs to every cluster, Emissary's included");
            }
        }

        foreach (var path in Directory.EnumerateFiles(folder, "*.yaml").Order(StringComparer.Ordinal))
        {
            var file = Path.GetRelativePath(repo, path);
            foreach (var crd in Yaml.Documents(File.ReadAllText(path), file, problems))
            {
                var spec = crd.Map("spec");
                var plural = spec.Map("names").Str("plural") ?? "";
                var where = $"{file}: {crd.Map("metadata").Str("name")}";
                if (crd.Str("kind") != "CustomResourceDefinition" || spec.Str("group") != "getambassador.io")
                {
                    problems.Add($"{where}: expected a CustomResourceDefinition of group getambassador.io");
                    continue;
                }

                if (crd.Map("metadata").Str("name") != $"{plural}.getambassador.io")
                {
                    problems.Add($"{where}: the name must be {plural}.getambassador.io");
                }

                var version = spec.Seq("versions").FirstOrDefault(v => v.Str("name") == "v3alpha1");
                if (version is null || version.Str("served") != "true" || version.Str("storage") != "true")
                {
                    problems.Add($"{where}: v3alpha1 must be served and stored (the gateway watches v3alpha1 only)");
                }
                else if (version.Map("subresources").Map("status") is null)
                {
                    problems.Add($"{where}: v3alpha1 needs the status subresource (the gateway writes status.conditions through it)");
                }

                if (crd.Map("metadata").Map("labels").Str("app.kubernetes.io/part-of") != "orleans-gateway")
                {
                    problems.Add($"{where}: needs the label app.kubernetes.io/part-of: orleans-gateway (infra/scripts/install-crds.sh updates only its own CRDs)");
                }

                found.Add(plural);
            }
        }

        foreach (var kind in Kinds.Where(k => !found.Contains(k)))
        {
            problems.Add($"{CrdFolder}: no CRD for {kind}");
        }

        return found;
    }
}
