using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace OrleansGateway.Host.Tests.Attacks;

/// <summary>
/// The gateway as an operator runs it, attacked by a tenant key holder (docs/security.md): a core process and an edge
/// process (<c>--role core</c> / <c>--role edge</c>) on a private Azurite, clustered through its tables, each with an
/// admin key and a metrics token. Tenant A (<see cref="Victim"/>) is set up once: a cleartext listener and a TLS port
/// routing <c>*.a.test</c> and <c>*.bücher.test</c> with its own certificate, both to <see cref="VictimUpstream"/>. The
/// attack classes share this pair (starting two processes takes a while on a loaded machine) and use tenant names of
/// their own. The tenants apply through the core's API; the edge binds and proxies.
/// </summary>
public sealed class AttackedGateway : IAsyncLifetime
{
    public const string AdminKey = "admin-key-for-attack-tests-0123456789";
    public const string MetricsToken = "metrics-token-for-attack-tests-0123";
    public const string Victim = "victim-a";

    private readonly AzuriteFixture _azurite = new();
    private readonly TempConfigDir _files = new();

    internal GatewayProcess Core { get; private set; } = null!;

    internal GatewayProcess Edge { get; private set; } = null!;

    /// <summary>The silo and Orleans gateway ports of each process (the API ports are on <see cref="GatewayProcess.Http"/>).</summary>
    public int CoreSiloPort { get; } = Ports.Free();

    public int CoreOrleansGatewayPort { get; } = Ports.Free();

    public int EdgeSiloPort { get; } = Ports.Free();

    public int EdgeOrleansGatewayPort { get; } = Ports.Free();

    public int CoreApiPort => Core.Http.BaseAddress!.Port;

    public int EdgeApiPort => Edge.Http.BaseAddress!.Port;

    /// <summary>Tenant A's cleartext listener and its TLS port (SNI-routed).</summary>
    public int VictimPort { get; } = Ports.Free();

    public int VictimTlsPort { get; } = Ports.Free();

    /// <summary>Tenant A's server: greets with "upstream-a", then echoes; records every connection and byte.</summary>
    internal RecordingUpstream VictimUpstream { get; } = new("upstream-a");

    public X509Certificate2 VictimCertificate { get; } = TestCertificates.SelfSigned("shop.a.test");

    public string VictimToken { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        await _azurite.InitializeAsync();
        var service = "attacks-" + Guid.NewGuid().ToString("N")[..8];
        string[] common =
        [
            "--storage", "azure", "--storage-connection-string", _azurite.ConnectionString, "--clustering", "azure",
            "--service-id", service, "--cluster-id", service,
            "--admin-key-file", _files.Write("admin.key", AdminKey + "\n"), "--metrics-token-file", _files.Write("metrics.token", MetricsToken + "\n"),

            // The attacks come in bursts from one address; the API's rate limits have tests of their own (RateLimitTests).
            "--api-rate-limit", "0", "--api-rate-limit-per-source", "0",
        ];
        Core = GatewayProcess.Start([.. common, "--role", "core", "--silo-port", $"{CoreSiloPort}", "--gateway-port", $"{CoreOrleansGatewayPort}"]);
        await Core.WaitReadyAsync(TimeSpan.FromSeconds(120));
        Edge = GatewayProcess.Start([.. common, "--role", "edge", "--silo-port", $"{EdgeSiloPort}", "--gateway-port", $"{EdgeOrleansGatewayPort}"]);
        await Edge.WaitReadyAsync(TimeSpan.FromSeconds(120));

        VictimToken = await CreateTenantAsync(Victim, new
        {
            allowedPorts = new[] { $"{VictimPort}", $"{VictimTlsPort}" },
            allowedUpstreams = new[] { "127.0.0.1" },
            allowedHosts = new[] { "*.a.test", "*.bücher.test" },
        });
        var (applied, outcome) = await ApplyAsync(Victim, VictimToken, string.Join('\n',
            Yaml.TlsSecret("cert-a", VictimCertificate),
            Yaml.Host("host-a-0", "*.a.test", "cert-a"),
            Yaml.Host("host-a-1", "*.bücher.test", "cert-a"),
            Yaml.TcpMapping("route-a-0", VictimTlsPort, $"127.0.0.1:{VictimUpstream.Port}", host: "\"*.a.test\""),
            Yaml.TcpMapping("route-a-1", VictimTlsPort, $"127.0.0.1:{VictimUpstream.Port}", host: "\"*.bücher.test\""),
            Yaml.TcpMapping("plain-a", VictimPort, $"127.0.0.1:{VictimUpstream.Port}")));
        Assert.True(applied == HttpStatusCode.OK, outcome.ToString());

        await Eventually.Until(async () => await Traffic.TryEchoAsync(VictimPort, "a") == "upstream-aa", "tenant A's cleartext listener on the edge", TimeSpan.FromSeconds(60));
        await Eventually.Until(async () => await VictimHandshakeAsync("shop.a.test") is { Greeting: "upstream-a" }, "tenant A's TLS route on the edge", TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        Edge?.Dispose();
        Core?.Dispose();
        await VictimUpstream.DisposeAsync();
        VictimCertificate.Dispose();
        await _azurite.DisposeAsync();
        _files.Dispose();
    }

    /// <summary>Sends a request to <paramref name="process"/>'s API (the core's unless said) with <paramref name="key"/> as bearer token; the status and the JSON body (default when none).</summary>
    internal async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(
        HttpMethod method, string path, string? key, HttpContent? content = null, GatewayProcess? process = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await (process ?? Core).Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static StringContent JsonBody(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    public static StringContent YamlBody(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");

    /// <summary>The admin creates <paramref name="name"/> with <paramref name="quota"/> (null: none sent) and issues a key; the token.</summary>
    public async Task<string> CreateTenantAsync(string name, object? quota)
    {
        var (created, body) = await CallAsync(HttpMethod.Post, "/api/v1/tenants", AdminKey,
            JsonBody(quota is null ? new { name } : new { name, quota }));
        Assert.True(created == HttpStatusCode.Created, body.ToString());
        var (issued, key) = await CallAsync(HttpMethod.Post, $"/api/v1/tenants/{name}/keys", AdminKey, JsonBody(new { description = "attack test" }));
        Assert.Equal(HttpStatusCode.Created, issued);
        return key.GetProperty("token").GetString()!;
    }

    /// <summary>A tenant whose quota grants <paramref name="upstreams"/>, <paramref name="hosts"/> (default every name) and <paramref name="ports"/> (none given: any port).</summary>
    public Task<string> AttackerAsync(string name, string[] upstreams, string[]? hosts = null, params int[] ports) =>
        CreateTenantAsync(name, new
        {
            allowedPorts = ports.Length == 0 ? null : ports.Select(p => $"{p}").ToArray(),
            allowedUpstreams = upstreams,
            allowedHosts = hosts ?? ["*"],
        });

    public Task<(HttpStatusCode Status, JsonElement Body)> ApplyAsync(string tenant, string token, string yaml) =>
        CallAsync(HttpMethod.Post, $"/api/v1/tenants/{tenant}/resources", token, YamlBody(yaml));

    /// <summary>The admin's view of a tenant, its resources and keys, to compare before and after a refused request.</summary>
    public async Task<string> SnapshotAsync(string tenant)
    {
        var (_, view) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}", AdminKey);
        var (_, resources) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/resources", AdminKey);
        var (_, keys) = await CallAsync(HttpMethod.Get, $"/api/v1/tenants/{tenant}/keys", AdminKey);
        return $"{view}\n{resources}\n{keys}";
    }

    /// <summary>The diagnostic codes of a 422 problem.</summary>
    public static List<string> Codes(JsonElement problem) =>
        problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("diagnostics", out var diagnostics)
            ? [.. diagnostics.EnumerateArray().Select(d => d.GetProperty("code").GetString()!)]
            : [];

    /// <summary>The edge's count of upstream connects refused by the egress rules (<c>/metrics</c>, read with the metrics token).</summary>
    public async Task<double> ForbiddenConnectsAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        using var response = await Edge.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var total = 0.0;
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.StartsWith("ogw_proxy_upstream_connect_failures", StringComparison.Ordinal) && line.Contains("reason=\"UpstreamForbidden\"", StringComparison.Ordinal))
            {
                total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>A TLS client of tenant A's port asking for <paramref name="sni"/>: the certificate shown and the upstream's greeting; null when refused.</summary>
    public Task<(X509Certificate2 Certificate, string Greeting)?> VictimHandshakeAsync(string sni) => HandshakeAsync(VictimTlsPort, sni);

    public static async Task<(X509Certificate2 Certificate, string Greeting)?> HandshakeAsync(int port, string sni)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            X509Certificate2? shown = null;
            await using var tls = new SslStream(client.GetStream(), false, (_, certificate, _, _) =>
            {
                shown = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return true;
            });
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, timeout.Token);
            var greeting = new byte["upstream-a".Length];
            await tls.ReadExactlyAsync(greeting, timeout.Token);
            return shown is null ? null : (shown, Encoding.UTF8.GetString(greeting));
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Connects to <paramref name="port"/>, sends <paramref name="request"/> and reads until the gateway closes: what came
    /// back ("" when reset), or null when nothing listens.
    /// </summary>
    public static async Task<string?> ExchangeAsync(int port, string request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        }
        catch (SocketException)
        {
            return null;
        }

        try
        {
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(timeout.Token);
        }
        catch (IOException)
        {
            return ""; // reset: nothing was answered either
        }
    }
}

/// <summary>The attack classes run one after another on one <see cref="AttackedGateway"/>.</summary>
[CollectionDefinition(Name)]
public sealed class AttackCollection : ICollectionFixture<AttackedGateway>
{
    public const string Name = "attacks";
}
