using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace OrleansGateway.Infra.Tests;

/// <summary>
/// azd's hooks (infra/scripts) as real processes. No Kubernetes API server or Key Vault runs here, so kubectl is a
/// stand-in script that answers from a folder of CRD facts, and Key Vault is a stand-in HTTP server speaking the
/// vault's REST paths to the script's real curl (docs/deploy.md).
/// </summary>
public sealed class HookTests
{
    [Fact]
    public void InstallCrdsInstallsWhatIsAbsentUpdatesItsOwnAndKeepsEmissarys()
    {
        var kube = FakeKubectl(new()
        {
            ["tcpmappings.getambassador.io"] = ("orleans-gateway", "true"),
            ["hosts.getambassador.io"] = ("emissary-ingress", "true"),
        });

        var (exit, output, error) = RunHook("install-crds.sh", kube.Env);

        Assert.True(exit == 0, error);
        var applied = File.ReadAllLines(Path.Combine(kube.State, "applied")).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain("getambassador.io_hosts.yaml", applied);
        Assert.Contains("getambassador.io_tcpmappings.yaml", applied);
        Assert.Equal(7, applied.Count);
        Assert.Contains("keeping hosts.getambassador.io", output);
    }

    [Fact]
    public void InstallCrdsRefusesAForeignCrdWithoutV3alpha1()
    {
        var kube = FakeKubectl(new() { ["listeners.getambassador.io"] = ("emissary-ingress", "") });

        var (exit, _, error) = RunHook("install-crds.sh", kube.Env);

        Assert.Equal(1, exit);
        Assert.Contains("listeners.getambassador.io exists (not installed by this gateway) but does not serve getambassador.io/v3alpha1", error);
        Assert.DoesNotContain(File.ReadAllLines(Path.Combine(kube.State, "applied")), l => l.EndsWith("getambassador.io_listeners.yaml", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostprovisionCreatesTheAdminKeyAndApiCertificateOnceAndKeepsThem()
    {
        using var vault = new FakeVault();
        var bin = Directory.CreateTempSubdirectory("ogw-azd-").FullName;
        WriteScript(Path.Combine(bin, "azd"), """
            #!/bin/sh
            [ "$1 $2 $3 $4" = "auth token --scope https://vault.azure.net/.default" ] || { echo "unexpected: $*" >&2; exit 1; }
            echo '{"token": "vault-token", "expiresOn": "2030-01-01T00:00:00Z"}'
            """);
        var env = new Dictionary<string, string>
        {
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["AZURE_KEY_VAULT_ENDPOINT"] = vault.Uri,
            ["AZURE_KEY_VAULT_NAME"] = "kv-test",
            ["AZURE_AKS_NAMESPACE"] = "orleans-gateway",
        };

        var first = await Task.Run(() => RunHook("postprovision.sh", env));

        Assert.True(first.Exit == 0, first.Error);
        var key = vault.Secrets["ogw-admin-key"];
        Assert.True(key.Length >= 16 && Convert.FromBase64String(key).Length == 33, key);
        using var policy = JsonDocument.Parse(vault.Certificates["ogw-api"]);
        var p = policy.RootElement.GetProperty("policy");
        Assert.Equal("Self", p.GetProperty("issuer").GetProperty("name").GetString());
        Assert.Equal("application/x-pem-file", p.GetProperty("secret_props").GetProperty("contentType").GetString());
        Assert.Contains("ogw-api.orleans-gateway.svc", p.GetProperty("x509_props").GetProperty("sans").GetProperty("dns_names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("AutoRenew", p.GetProperty("lifetime_actions")[0].GetProperty("action").GetProperty("action_type").GetString());

        var writes = vault.Writes;
        var second = await Task.Run(() => RunHook("postprovision.sh", env));

        Assert.True(second.Exit == 0, second.Error);
        Assert.Equal(writes, vault.Writes);
        Assert.Equal(key, vault.Secrets["ogw-admin-key"]);
        Assert.Contains("secret ogw-admin-key exists; kept", second.Output);
        Assert.Contains("certificate ogw-api exists; kept", second.Output);
    }

    private static (int Exit, string Output, string Error) RunHook(string script, IDictionary<string, string> env) =>
        Deployment.Run("sh", [Path.Combine(Deployment.Root, "infra", "scripts", script)], env);

    /// <summary>A kubectl that knows the CRDs given (owner label, whether v3alpha1 is served) and logs each apply.</summary>
    private static (string State, Dictionary<string, string> Env) FakeKubectl(Dictionary<string, (string Owner, string V3alpha1)> crds)
    {
        var state = Directory.CreateTempSubdirectory("ogw-kube-").FullName;
        Directory.CreateDirectory(Path.Combine(state, "crd"));
        File.WriteAllText(Path.Combine(state, "applied"), "");
        foreach (var (name, (owner, served)) in crds)
        {
            File.WriteAllText(Path.Combine(state, "crd", name + ".owner"), owner);
            File.WriteAllText(Path.Combine(state, "crd", name + ".v3"), served);
        }

        WriteScript(Path.Combine(state, "kubectl"), """
            #!/bin/sh
            crd="$FAKE_KUBE/crd/$3"
            case "$1 $2 $*" in
              "apply -f"*) echo "$3" >>"$FAKE_KUBE/applied" ;;
              "get crd"*--ignore-not-found*) [ -f "$crd.owner" ] && echo "customresourcedefinition.apiextensions.k8s.io/$3" || true ;;
              "get crd"*labels*) cat "$crd.owner" ;;
              "get crd"*v3alpha1*) cat "$crd.v3" ;;
              *) echo "fake kubectl: unexpected: $*" >&2; exit 1 ;;
            esac
            """);
        return (state, new() { ["FAKE_KUBE"] = state, ["PATH"] = state + ":" + Environment.GetEnvironmentVariable("PATH") });
    }

    private static void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text.Replace("\r\n", "\n") + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Key Vault's secret and certificate paths (api-version 7.4), on loopback, for one bearer token.</summary>
    private sealed class FakeVault : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly CancellationTokenSource _stop = new();
        private int _writes;

        public FakeVault()
        {
            var port = FreePort();
            Uri = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Uri);
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public string Uri { get; }

        public Dictionary<string, string> Secrets { get; } = [];

        public Dictionary<string, string> Certificates { get; } = [];

        public int Writes => Volatile.Read(ref _writes);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Close();
        }

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                var request = context.Request;
                var body = await new StreamReader(request.InputStream, Encoding.UTF8).ReadToEndAsync();
                var (status, answer) = Answer(request.HttpMethod, request.Url!.AbsolutePath, request.QueryString["api-version"],
                    request.Headers["Authorization"], body);
                context.Response.StatusCode = status;
                await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(answer));
                context.Response.Close();
            }
        }

        private (int, string) Answer(string method, string path, string? version, string? authorization, string body)
        {
            if (authorization != "Bearer vault-token")
            {
                return (401, "{\"error\":{\"code\":\"Unauthorized\"}}");
            }

            if (version != "7.4")
            {
                return (400, "{\"error\":{\"code\":\"BadParameter\"}}");
            }

            lock (Secrets)
            {
                switch (method, path.Split('/', StringSplitOptions.RemoveEmptyEntries))
                {
                    case ("GET", ["secrets", var name]):
                        return Secrets.TryGetValue(name, out var value) ? (200, JsonSerializer.Serialize(new { value })) : (404, "{\"error\":{\"code\":\"SecretNotFound\"}}");
                    case ("PUT", ["secrets", var name]):
                        Secrets[name] = JsonDocument.Parse(body).RootElement.GetProperty("value").GetString()!;
                        Interlocked.Increment(ref _writes);
                        return (200, body);
                    case ("GET", ["certificates", var name]):
                        return Certificates.ContainsKey(name) ? (200, "{\"id\":\"x\"}") : (404, "{\"error\":{\"code\":\"CertificateNotFound\"}}");
                    case ("POST", ["certificates", var name, "create"]):
                        Certificates[name] = body;
                        Interlocked.Increment(ref _writes);
                        return (202, "{\"status\":\"inProgress\"}");
                    default:
                        return (400, "{\"error\":{\"code\":\"Unexpected\"}}");
                }
            }
        }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }
    }
}
