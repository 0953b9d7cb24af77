using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.InfraCheck;

/// <summary>One service of azure.yaml that azd deploys to AKS, with its paths resolved as azd resolves them.</summary>
internal sealed record AksService(string Name, string ProjectDir, string? Dockerfile, string? DeploymentPath, string? Namespace,
    string? DeploymentName, string? ServiceName)
{
    /// <summary>The environment value azd sets to the image it pushed for this service (SERVICE_&lt;NAME&gt;_IMAGE_NAME).</summary>
    public string ImageVariable => $"SERVICE_{EnvironmentKey(Name)}_IMAGE_NAME";

    /// <summary>azd's key for a service name: upper case, whitespace and hyphens as underscores.</summary>
    public static string EnvironmentKey(string name) =>
        Regex.Replace(name.ToUpperInvariant(), @"\s", "_").Replace('-', '_');
}

/// <summary>
/// azure.yaml against the fields azd reads (its v1.0 schema): unknown keys are mistakes azd would ignore or refuse,
/// and every path it names must exist where azd looks for it (project paths relative to the repository, docker
/// and k8s paths relative to the service's project, hook scripts relative to where their hook runs).
/// </summary>
internal static partial class AzureYaml
{
    private static readonly string[] TopLevel =
        ["name", "resourceGroup", "metadata", "infra", "services", "resources", "pipeline", "hooks", "requiredVersions", "state", "platform", "workflows", "cloud"];

    private static readonly string[] InfraKeys = ["provider", "path", "module", "layers"];

    private static readonly string[] ServiceKeys =
        ["apiVersion", "resourceGroup", "resourceName", "project", "image", "host", "language", "module", "dist", "remoteBuild", "docker", "k8s", "config", "uses", "env", "hooks"];

    private static readonly string[] DockerKeys = ["path", "context", "platform", "registry", "image", "tag", "buildArgs", "network", "remoteBuild"];

    private static readonly string[] K8sKeys = ["deploymentPath", "namespace", "deployment", "service", "ingress", "helm", "kustomize"];

    private static readonly string[] ProjectEvents =
        ["preprovision", "postprovision", "preinfracreate", "postinfracreate", "preinfradelete", "postinfradelete", "predown", "postdown",
         "preup", "postup", "prepackage", "postpackage", "prepublish", "postpublish", "predeploy", "postdeploy", "prerestore", "postrestore"];

    private static readonly string[] ServiceEvents =
        ["predeploy", "postdeploy", "prerestore", "postrestore", "prebuild", "postbuild", "prepackage", "postpackage", "prepublish", "postpublish"];

    private static readonly string[] HookKeys = ["shell", "kind", "dir", "run", "continueOnError", "interactive", "windows", "posix", "secrets"];

    public static List<AksService> Check(string repo, List<string> problems)
    {
        const string file = "azure.yaml";
        var path = Path.Combine(repo, file);
        if (!File.Exists(path))
        {
            problems.Add("azure.yaml is missing at the repository's root, where azd looks for it");
            return [];
        }

        var documents = Yaml.Documents(File.ReadAllText(path), file, problems);
        if (documents.Count != 1)
        {
            problems.Add($"{file}: expected one YAML document, found {documents.Count}");
            return [];
        }

        var root = documents[0];
        Known(root, TopLevel, file, "", problems);
        var name = root.Str("name");
        if (name is null || !NamePattern().IsMatch(name))
        {
            problems.Add($"{file}: name '{name}' must be 2+ lower-case letters, digits and hyphens, starting and ending with a letter or digit");
        }

        CheckInfra(repo, root.Map("infra"), file, problems);
        CheckHooks(root.Map("hooks"), ProjectEvents, repo, repo, file, "hooks", problems);

        var services = new List<AksService>();
        if (root.Map("services") is not { } serviceMap || serviceMap.Children.Count == 0)
        {
            problems.Add($"{file}: services is missing or empty");
            return services;
        }

        foreach (var (key, node) in serviceMap.Children)
        {
            var serviceName = key.Str() ?? "";
            if (node is not YamlMappingNode service)
            {
                problems.Add($"{file}: services.{serviceName} must be a mapping");
                continue;
            }

            if (CheckService(repo, serviceName, service, file, problems) is { } aks)
            {
                services.Add(aks);
            }
        }

        return services;
    }

    private static void CheckInfra(string repo, YamlMappingNode? infra, string file, List<string> problems)
    {
        if (infra is not null)
        {
            Known(infra, InfraKeys, file, "infra.", problems);
        }

        var provider = infra.Str("provider") ?? "bicep";
        if (provider != "bicep")
        {
            problems.Add($"{file}: infra.provider '{provider}': this repository's infrastructure is Bicep");
        }

        var main = Path.Combine(repo, infra.Str("path") ?? "infra", (infra.Str("module") ?? "main") + ".bicep");
        if (!File.Exists(main))
        {
            problems.Add($"{file}: infra.path/infra.module name {Path.GetRelativePath(repo, main)}, which does not exist");
        }
    }

    private static AksService? CheckService(string repo, string name, YamlMappingNode service, string file, List<string> problems)
    {
        var at = $"services.{name}";
        Known(service, ServiceKeys, file, at + ".", problems);
        var host = service.Str("host");
        if (host is null)
        {
            problems.Add($"{file}: {at}.host is required");
            return null;
        }

        var project = Path.GetFullPath(Path.Combine(repo, service.Str("project") ?? "."));
        if (!Directory.Exists(project))
        {
            problems.Add($"{file}: {at}.project '{service.Str("project")}' is not a directory");
        }
        else if (service.Str("language") is "dotnet" or "csharp" or "fsharp" && Directory.GetFiles(project, "*.*proj").Length == 0)
        {
            problems.Add($"{file}: {at}.project '{service.Str("project")}' holds no .NET project file, though language is {service.Str("language")}");
        }

        CheckHooks(service.Map("hooks"), ServiceEvents, project, repo, file, at + ".hooks", problems);
        if (host != "aks")
        {
            return null;
        }

        foreach (var forbidden in new[] { "image", "apiVersion", "env" })
        {
            if (service.Get(forbidden) is not null)
            {
                problems.Add($"{file}: {at}.{forbidden} does not apply to host aks (azd's schema refuses it)");
            }
        }

        var docker = service.Map("docker");
        if (docker is not null)
        {
            Known(docker, DockerKeys, file, at + ".docker.", problems);
        }

        // azd builds the image only from a Dockerfile for AKS services (its Dockerfile-less .NET path pushes nothing).
        var dockerfile = Path.GetFullPath(Path.Combine(project, docker.Str("path") ?? "Dockerfile"));
        if (!File.Exists(dockerfile))
        {
            problems.Add($"{file}: {at}.docker.path resolves to {Path.GetRelativePath(repo, dockerfile)} (relative to the project), which does not exist");
        }

        var context = Path.GetFullPath(Path.Combine(project, docker.Str("context") ?? "."));
        if (!Directory.Exists(context))
        {
            problems.Add($"{file}: {at}.docker.context resolves to {Path.GetRelativePath(repo, context)} (relative to the project), which is not a directory");
        }

        var k8s = service.Map("k8s");
        if (k8s is null)
        {
            problems.Add($"{file}: {at}.k8s is missing: the manifests' folder and namespace must be given");
            return new AksService(name, project, dockerfile, null, null, null, null);
        }

        Known(k8s, K8sKeys, file, at + ".k8s.", problems);
        foreach (var (child, keys) in new[] { ("deployment", new[] { "name" }), ("service", ["name"]), ("ingress", ["name", "relativePath"]) })
        {
            if (k8s.Get(child) is { } node)
            {
                if (node is YamlMappingNode mapping)
                {
                    Known(mapping, keys, file, $"{at}.k8s.{child}.", problems);
                }
                else
                {
                    problems.Add($"{file}: {at}.k8s.{child} must be a mapping");
                }
            }
        }

        var deploymentPath = Path.GetFullPath(Path.Combine(project, k8s.Str("deploymentPath") ?? "manifests"));
        if (!Directory.Exists(deploymentPath))
        {
            problems.Add($"{file}: {at}.k8s.deploymentPath resolves to {Path.GetRelativePath(repo, deploymentPath)} (relative to the project), which is not a directory");
        }

        var ns = k8s.Str("namespace");
        if (ns is null)
        {
            problems.Add($"{file}: {at}.k8s.namespace is missing (azd would use the project name); name the manifests' namespace");
        }

        return new AksService(name, project, dockerfile, deploymentPath, ns, k8s.Map("deployment").Str("name") ?? name, k8s.Map("service").Str("name") ?? name);
    }

    private static void CheckHooks(YamlMappingNode? hooks, string[] events, string cwd, string repo, string file, string at, List<string> problems)
    {
        if (hooks is null)
        {
            return;
        }

        Known(hooks, events, file, at + ".", problems);
        foreach (var (key, node) in hooks.Children)
        {
            var hooksOfEvent = node is YamlSequenceNode list ? list.Children : [node];
            foreach (var hook in hooksOfEvent)
            {
                CheckHook(hook, $"{at}.{key.Str()}", cwd, repo, file, problems);
            }
        }
    }

    private static void CheckHook(YamlNode hook, string at, string cwd, string repo, string file, List<string> problems)
    {
        if (hook is not YamlMappingNode mapping)
        {
            problems.Add($"{file}: {at} must be a mapping");
            return;
        }

        Known(mapping, HookKeys, file, at + ".", problems);
        foreach (var platform in new[] { "posix", "windows" })
        {
            if (mapping.Get(platform) is { } nested)
            {
                CheckHook(nested, $"{at}.{platform}", cwd, repo, file, problems);
            }
        }

        // A run value without spaces or line breaks is a script path, resolved from the hook's directory.
        if (mapping.Str("run") is { } run && !run.Any(char.IsWhiteSpace))
        {
            var script = Path.GetFullPath(Path.Combine(cwd, mapping.Str("dir") ?? ".", run));
            if (!File.Exists(script))
            {
                problems.Add($"{file}: {at}.run names {Path.GetRelativePath(repo, script)}, which does not exist");
            }
            else if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(script) & UnixFileMode.UserExecute) == 0)
            {
                problems.Add($"{file}: {at}.run names {Path.GetRelativePath(repo, script)}, which is not executable (git update-index --chmod=+x)");
            }
        }
    }

    private static void Known(YamlMappingNode mapping, string[] allowed, string file, string prefix, List<string> problems)
    {
        foreach (var key in mapping.Keys())
        {
            if (!allowed.Contains(key, StringComparer.Ordinal))
            {
                problems.Add($"{file}: line {mapping.Line()}: unknown key {prefix}{key} (azd reads {string.Join(", ", allowed)})");
            }
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex NamePattern();
}
