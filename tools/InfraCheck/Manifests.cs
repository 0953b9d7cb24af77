using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansGateway.InfraCheck;

/// <summary>One YAML document of a manifest file, with {{.Env.NAME}} replaced by a marker that names the value.</summary>
internal sealed record Manifest(string File, YamlMappingNode Node)
{
    public string Kind => Node.Str("kind") ?? "";

    public string Name => Node.Map("metadata").Str("name") ?? "";

    public string? Namespace => Node.Map("metadata").Str("namespace");

    public string Where => $"{File}: {Kind} {Name}";
}

/// <summary>
/// What azd and AKS would do with the manifests of one AKS service, checked offline: the templating azd applies
/// (Go templates only in *.tmpl.yaml, only values it has), the image it pushed, and the contracts between the
/// manifests, main.bicep, the Dockerfile and the gateway's command line (docs/deploy.md).
/// </summary>
internal static partial class Manifests
{
    /// <summary>Values azd writes into the environment itself, besides main.bicep's outputs and the image names.</summary>
    public static readonly string[] AzdValues = ["AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP"];

    private const string Marker = "__AZD_ENV__";
    private static readonly string[] Workloads = ["Deployment", "StatefulSet", "DaemonSet"];
    private static readonly string[] ClusterScoped = ["ClusterRole", "ClusterRoleBinding", "Namespace", "CustomResourceDefinition", "PriorityClass", "StorageClass"];

    public static List<Manifest> Load(string repo, AksService service, IReadOnlySet<string> known, List<string> problems)
    {
        var manifests = new List<Manifest>();
        var files = Directory.EnumerateFiles(service.DeploymentPath!, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetExtension(f) is ".yaml" or ".yml")
            .Order(StringComparer.Ordinal);
        foreach (var path in files)
        {
            var file = Path.GetRelativePath(repo, path);
            var text = File.ReadAllText(path);
            var templated = Path.GetFileNameWithoutExtension(path).EndsWith(".tmpl", StringComparison.Ordinal);
            foreach (Match action in ActionPattern().Matches(text))
            {
                var line = text[..action.Index].Count(c => c == '\n') + 1;
                if (!templated)
                {
                    problems.Add($"{file}: line {line}: {action.Value} in a file azd applies as it is; only *.tmpl.yaml files are templates");
                    continue;
                }

                var value = EnvPattern().Match(action.Value);
                if (!value.Success)
                {
                    problems.Add($"{file}: line {line}: {action.Value}: only {{{{.Env.NAME}}}} is used in these templates");
                }
                else if (!known.Contains(value.Groups[1].Value))
                {
                    problems.Add($"{file}: line {line}: {value.Groups[1].Value} is neither an output of infra/main.bicep nor a value azd sets; " +
                        "azd would render it as <no value>");
                }
            }

            foreach (Match shell in ShellPattern().Matches(text))
            {
                problems.Add($"{file}: line {text[..shell.Index].Count(c => c == '\n') + 1}: {shell.Value} is substituted by neither azd nor Kubernetes; " +
                    "use {{.Env.NAME}} in a *.tmpl.yaml file");
            }

            var rendered = EnvPattern().Replace(text, m => Marker + m.Groups[1].Value);
            manifests.AddRange(Yaml.Documents(rendered, file, problems).Select(d => new Manifest(file, d)));
        }

        return manifests;
    }

    public static void Check(string repo, AksService service, List<Manifest> manifests, DockerImage? image,
        List<(string? Subject, string? Problem)> subjects, IReadOnlySet<string> crdKinds, List<string> problems)
    {
        var ns = service.Namespace;
        foreach (var m in manifests)
        {
            if (m.Kind == "CustomResourceDefinition")
            {
                problems.Add($"{m.Where}: CRDs do not belong in {Path.GetRelativePath(repo, service.DeploymentPath!)}, which azd applies to every cluster; " +
                    "they are installed with a guard (infra/k8s/crds)");
            }
            else if (!ClusterScoped.Contains(m.Kind) && m.Namespace is { } other && other != ns)
            {
                problems.Add($"{m.Where}: namespace {other} is not azure.yaml's k8s.namespace {ns}");
            }
        }

        var workloads = manifests.Where(m => Workloads.Contains(m.Kind)).ToList();
        if (workloads.Count == 0)
        {
            problems.Add($"{Path.GetRelativePath(repo, service.DeploymentPath!)}: no Deployment");
        }

        foreach (var workload in workloads)
        {
            CheckPod(service, workload, manifests, image, subjects, problems);
        }

        var loadBalancers = manifests.Where(m => m.Kind == "Service" && m.Node.Map("spec").Str("type") == "LoadBalancer").ToList();
        if (loadBalancers.Count == 0)
        {
            problems.Add("no Service of type LoadBalancer: tenant ports would not be reachable from outside the cluster");
        }

        foreach (var lb in loadBalancers)
        {
            if (!lb.Node.Map("spec").Seq("ports").Any())
            {
                problems.Add($"{lb.Where}: a Service needs at least one port (a placeholder until the gateway patches spec.ports)");
            }

            if (lb.Node.Map("spec").Str("externalTrafficPolicy") != "Local")
            {
                problems.Add($"{lb.Where}: externalTrafficPolicy must be Local, so that edges see their clients' addresses");
            }
        }

        if (!manifests.Any(m => m.Kind == "Deployment" && m.Name.Contains(service.DeploymentName!, StringComparison.Ordinal)))
        {
            problems.Add($"azure.yaml: services.{service.Name}.k8s.deployment.name '{service.DeploymentName}' matches no Deployment; azd waits for it after applying");
        }

        if (!manifests.Any(m => m.Kind == "Service" && m.Name.Contains(service.ServiceName!, StringComparison.Ordinal)))
        {
            problems.Add($"azure.yaml: services.{service.Name}.k8s.service.name '{service.ServiceName}' matches no Service");
        }

        CheckClusterRole(manifests, crdKinds, problems);
    }

    private static void CheckPod(AksService service, Manifest workload, List<Manifest> manifests, DockerImage? image,
        List<(string? Subject, string? Problem)> subjects, List<string> problems)
    {
        var template = workload.Node.Map("spec").Map("template");
        var pod = template.Map("spec");
        if (template.Map("metadata").Map("labels").Get("azure.workload.identity/use") is not YamlScalarNode { Value: "true" } label)
        {
            problems.Add($"{workload.Where}: the pod template needs the label azure.workload.identity/use: \"true\" (workload identity injects tokens only then)");
        }
        else if (label.Style is not (ScalarStyle.DoubleQuoted or ScalarStyle.SingleQuoted))
        {
            problems.Add($"{workload.Where}: azure.workload.identity/use must be the string \"true\" (quoted); an unquoted true is a boolean and the API server refuses it");
        }

        var account = pod.Str("serviceAccountName");
        if (account is null)
        {
            problems.Add($"{workload.Where}: serviceAccountName is missing: the pod would run as 'default', which the federated credential does not name");
        }
        else
        {
            CheckServiceAccount(service, workload, account, manifests, subjects, problems);
        }

        var podNonRoot = pod.Map("securityContext").Str("runAsNonRoot") == "true";
        var podUser = pod.Map("securityContext").Str("runAsUser");
        foreach (var container in pod.Seq("containers").OfType<YamlMappingNode>())
        {
            var where = $"{workload.Where}, container {container.Str("name")}";
            if (container.Str("image") != Marker + service.ImageVariable)
            {
                problems.Add($"{where}: image must be {{{{.Env.{service.ImageVariable}}}}}, the image azd built and pushed (is '{container.Str("image")?.Replace(Marker, "env ")}')");
            }

            if (container.Get("command") is not null)
            {
                problems.Add($"{where}: command replaces the image's ENTRYPOINT; give options as args");
            }

            var nonRoot = container.Map("securityContext").Str("runAsNonRoot") is { } own ? own == "true" : podNonRoot;
            var user = container.Map("securityContext").Str("runAsUser") ?? podUser;
            if (nonRoot && image?.NumericUser is null)
            {
                problems.Add($"{where}: runAsNonRoot is set but the Dockerfile's final stage has no numeric USER ('{image?.User}'); Kubernetes cannot verify a user name");
            }
            else if (nonRoot && user is not null && image?.NumericUser is { } uid && user != uid.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                problems.Add($"{where}: runAsUser {user} differs from the Dockerfile's USER {image.User}");
            }

            CheckProbes(where, container, problems);
        }
    }

    private static void CheckServiceAccount(AksService service, Manifest workload, string account, List<Manifest> manifests,
        List<(string? Subject, string? Problem)> subjects, List<string> problems)
    {
        var sa = manifests.FirstOrDefault(m => m.Kind == "ServiceAccount" && m.Name == account);
        if (sa is null)
        {
            problems.Add($"{workload.Where}: service account {account} is not among the manifests");
        }
        else if (sa.Node.Map("metadata").Map("annotations").Str("azure.workload.identity/client-id") is not { Length: > 0 } clientId
            || !clientId.StartsWith(Marker, StringComparison.Ordinal))
        {
            problems.Add($"{sa.Where}: the annotation azure.workload.identity/client-id must be {{{{.Env.NAME}}}} of main.bicep's identity client id output");
        }

        var expected = $"system:serviceaccount:{service.Namespace}:{account}";
        foreach (var (_, problem) in subjects.Where(s => s.Problem is not null))
        {
            problems.Add($"infra/main.bicep: {problem}");
        }

        var literal = subjects.Where(s => s.Subject is not null).Select(s => s.Subject!).ToList();
        if (literal.Count == 0 && subjects.All(s => s.Problem is null))
        {
            problems.Add("infra/main.bicep: no federated identity credential: pods cannot sign in with workload identity");
        }
        else if (literal.Count > 0 && !literal.Contains(expected))
        {
            problems.Add($"{workload.Where}: runs as {expected}, but the federated credential's subject is {string.Join(", ", literal)}");
        }
    }

    private static void CheckProbes(string where, YamlMappingNode container, List<string> problems)
    {
        var args = container.Strings("args").ToList();
        var apiUrl = Option(args, "--api-url") ?? "http://127.0.0.1:8080";
        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var api))
        {
            problems.Add($"{where}: --api-url '{apiUrl}' is not a URL");
            return;
        }

        if (api.IsLoopback)
        {
            problems.Add($"{where}: --api-url {apiUrl} listens on loopback only; the kubelet probes the pod's address (give {api.Scheme}://0.0.0.0:{api.Port})");
        }

        foreach (var (probe, path) in new[] { ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz") })
        {
            var httpGet = container.Map(probe).Map("httpGet");
            if (httpGet is null)
            {
                if (probe != "startupProbe")
                {
                    problems.Add($"{where}: {probe} must be an httpGet of {path}");
                }

                continue;
            }

            if (httpGet.Str("path") != path)
            {
                problems.Add($"{where}: {probe} probes {httpGet.Str("path")}, not {path}");
            }

            if (httpGet.Str("host") is { } host)
            {
                problems.Add($"{where}: {probe} sets host {host}; without it the kubelet probes the pod's own address, as clients reach it");
            }

            var port = httpGet.Str("port");
            var number = int.TryParse(port, out var n) ? n
                : container.Seq("ports").FirstOrDefault(p => p.Str("name") == port).Str("containerPort") is { } named && int.TryParse(named, out var c) ? c : -1;
            if (number != api.Port)
            {
                problems.Add($"{where}: {probe} probes port {port}, but --api-url listens on {api.Port}");
            }

            var scheme = httpGet.Str("scheme") ?? "HTTP";
            if (!scheme.Equals(api.Scheme, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{where}: {probe} uses {scheme} but --api-url is {api.Scheme}");
            }
        }
    }

    /// <summary>The service account of the workloads may get and patch the Service --kubernetes-service names, and only that one.</summary>
    public static void CheckServicePatch(AksService service, List<Manifest> manifests, List<string> problems)
    {
        foreach (var workload in manifests.Where(m => Workloads.Contains(m.Kind)))
        {
            var pod = workload.Node.Map("spec").Map("template").Map("spec");
            var account = pod.Str("serviceAccountName");
            foreach (var container in pod.Seq("containers"))
            {
                if (Option(container.Strings("args").ToList(), "--kubernetes-service") is not { } target)
                {
                    continue;
                }

                var parts = target.Split('/');
                var where = $"{workload.Where}: --kubernetes-service {target}";
                if (parts.Length != 2 || parts[0] != service.Namespace)
                {
                    problems.Add($"{where}: must be {service.Namespace}/NAME, a Service of the gateway's own namespace");
                    continue;
                }

                var svc = manifests.FirstOrDefault(m => m.Kind == "Service" && m.Name == parts[1]);
                if (svc?.Node.Map("spec").Str("type") != "LoadBalancer")
                {
                    problems.Add($"{where}: names no LoadBalancer Service among the manifests");
                }

                var rules = RulesOf(account, service.Namespace!, manifests).ToList();
                var allows = rules.Any(r => Grants(r, "", "services", "get") && Grants(r, "", "services", "patch") && r.Strings("resourceNames").Contains(parts[1]));
                if (!allows)
                {
                    problems.Add($"{where}: service account {account} may not get and patch it (a Role rule on services with resourceNames [{parts[1]}])");
                }

                if (rules.Any(r => Grants(r, "", "services", "patch") && !r.Seq("resourceNames").Any()))
                {
                    problems.Add($"{where}: service account {account} may patch every Service; name the one Service in resourceNames");
                }
            }
        }
    }

    /// <summary>The ClusterRole reads every kind the CRDs define and may patch only their status; no wildcards.</summary>
    private static void CheckClusterRole(List<Manifest> manifests, IReadOnlySet<string> crdKinds, List<string> problems)
    {
        foreach (var role in manifests.Where(m => m.Kind is "ClusterRole" or "Role"))
        {
            foreach (var rule in role.Node.Seq("rules"))
            {
                if (rule.Strings("verbs").Contains("*") || rule.Strings("resources").Contains("*") || rule.Strings("apiGroups").Contains("*"))
                {
                    problems.Add($"{role.Where}: a rule with '*': grant the verbs and resources the gateway uses, by name");
                }

                if (rule.Strings("apiGroups").Contains("getambassador.io")
                    && rule.Strings("resources").Any(r => !r.EndsWith("/status", StringComparison.Ordinal))
                    && rule.Strings("verbs").Any(v => v is "create" or "update" or "patch" or "delete" or "deletecollection"))
                {
                    problems.Add($"{role.Where}: the gateway writes only the status of getambassador.io resources, never the resources");
                }
            }
        }

        var rules = manifests.Where(m => m.Kind == "ClusterRole").SelectMany(m => m.Node.Seq("rules")).ToList();
        foreach (var kind in crdKinds)
        {
            foreach (var verb in new[] { "get", "list", "watch" })
            {
                if (!rules.Any(r => Grants(r, "getambassador.io", kind, verb)))
                {
                    problems.Add($"ClusterRole: {verb} on getambassador.io {kind} is not granted");
                }
            }

            if (!rules.Any(r => Grants(r, "getambassador.io", kind + "/status", "patch")))
            {
                problems.Add($"ClusterRole: patch on getambassador.io {kind}/status is not granted");
            }
        }

        foreach (var (group, resource, verbs) in new[]
                 {
                     ("", "secrets", new[] { "get", "list", "watch" }), ("", "namespaces", ["get", "list", "watch"]),
                     ("", "services", ["get", "list", "watch"]), ("discovery.k8s.io", "endpointslices", ["get", "list", "watch"]),
                     ("", "events", ["create"]),
                 })
        {
            foreach (var verb in verbs.Where(v => !rules.Any(r => Grants(r, group, resource, v))))
            {
                problems.Add($"ClusterRole: {verb} on {(group == "" ? "core" : group)} {resource} is not granted");
            }
        }
    }

    /// <summary>Rules of the Roles and ClusterRoles bound to the service account.</summary>
    private static IEnumerable<YamlNode> RulesOf(string? account, string ns, List<Manifest> manifests)
    {
        foreach (var binding in manifests.Where(m => m.Kind is "RoleBinding" or "ClusterRoleBinding"))
        {
            var bound = binding.Node.Seq("subjects").Any(s =>
                s.Str("kind") == "ServiceAccount" && s.Str("name") == account && (s.Str("namespace") ?? binding.Namespace) == ns);
            if (!bound)
            {
                continue;
            }

            var roleRef = binding.Node.Map("roleRef");
            var role = manifests.FirstOrDefault(m => m.Kind == roleRef.Str("kind") && m.Name == roleRef.Str("name")
                && (m.Kind == "ClusterRole" || m.Namespace == binding.Namespace));
            foreach (var rule in role?.Node.Seq("rules") ?? [])
            {
                yield return rule;
            }
        }
    }

    private static bool Grants(YamlNode rule, string group, string resource, string verb) =>
        rule.Strings("apiGroups").Contains(group) && rule.Strings("resources").Contains(resource) && rule.Strings("verbs").Contains(verb);

    /// <summary>The value after an option in an argument list (--name value or --name=value).</summary>
    public static string? Option(IReadOnlyList<string> args, string name)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == name && i + 1 < args.Count)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                return args[i][(name.Length + 1)..];
            }
        }

        return null;
    }

    [GeneratedRegex(@"\{\{.*?\}\}", RegexOptions.Singleline)]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"\{\{\s*\.Env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")]
    private static partial Regex EnvPattern();

    [GeneratedRegex(@"\$\{[A-Za-z_][A-Za-z0-9_]*\}")]
    private static partial Regex ShellPattern();
}
