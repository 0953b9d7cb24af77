using k8s;
using k8s.Exceptions;

namespace OrleansGateway.Sources.Kubernetes;

/// <summary>
/// Which cluster the gateway talks to: <c>--kubeconfig PATH</c>, else env <c>KUBECONFIG</c> (one file or several,
/// separated as in <c>PATH</c>, merged as kubectl merges them), else the pod's service account (in-cluster), else
/// <c>~/.kube/config</c>; the kubeconfig's current context.
/// </summary>
public static class KubernetesCluster
{
    /// <summary>The client configuration, or null with <paramref name="problem"/> saying what to give instead.</summary>
    public static KubernetesClientConfiguration? Load(string? kubeconfig, string? kubeconfigEnvironment, string? home, out string? problem)
    {
        problem = null;
        var origin = "the in-cluster service account";
        try
        {
            if (kubeconfig is not null)
            {
                if (!File.Exists(kubeconfig))
                {
                    problem = $"--kubeconfig '{kubeconfig}' does not exist; give the path of a kubeconfig file";
                    return null;
                }

                origin = $"--kubeconfig '{kubeconfig}'";
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            }

            if (!string.IsNullOrWhiteSpace(kubeconfigEnvironment))
            {
                var files = kubeconfigEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).ToArray();
                if (files.Length == 0)
                {
                    problem = $"env KUBECONFIG '{kubeconfigEnvironment}' names no existing file; fix it, or give --kubeconfig";
                    return null;
                }

                // Several files are merged as kubectl merges them; KubernetesClient does that when it reads KUBECONFIG itself.
                origin = $"env KUBECONFIG '{kubeconfigEnvironment}'";
                return files.Length == 1
                    ? KubernetesClientConfiguration.BuildConfigFromConfigFile(files[0])
                    : KubernetesClientConfiguration.BuildDefaultConfig();
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                return KubernetesClientConfiguration.InClusterConfig();
            }

            var userConfig = home is null ? null : Path.Combine(home, ".kube", "config");
            if (userConfig is not null && File.Exists(userConfig))
            {
                origin = $"'{userConfig}'";
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(userConfig);
            }

            problem = "--kubernetes needs a cluster: give --kubeconfig PATH, set KUBECONFIG, run in a pod with a service account, " +
                "or create ~/.kube/config";
            return null;
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException or FormatException
                                   or YamlDotNet.Core.YamlException or ArgumentException or InvalidOperationException)
        {
            problem = $"the cluster from {origin} cannot be used ({e.Message}); check its current context, cluster and user";
            return null;
        }
    }
}
