using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OrleansGateway.Certificates.Development;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// The API over HTTPS with a certificate from a file (docs/api.md, "Serving the API"), tried with real HTTPS requests
/// that validate the chain against the test CA, and the dashboard's Basic credentials refused where they would travel
/// in clear text to another host.
/// </summary>
public sealed class HttpsTests
{
    private const string AdminKey = "admin-key-for-https-tests-0123456789";
    private const string HostName = "gateway.test";

    private static readonly X509Certificate2 Ca = DevCertificates.CreateCa("ogw HTTPS test CA");

    [Fact]
    public async Task The_API_serves_HTTPS_with_a_PEM_certificate_that_a_client_validates_against_its_CA()
    {
        using var files = new TempFiles();
        using var leaf = DevCertificates.Issue(Ca, [HostName]);
        var pem = files.Write("api.pem", DevCertificates.ToPem(leaf) + DevCertificates.KeyToPem(leaf));
        await using var gateway = await Gateway.StartAsync(files, "https", IPAddress.Loopback, ["--api-certificate", pem]);

        using var trusting = Client(gateway.Port, IPAddress.Loopback, trustCa: true);
        using var healthz = await trusting.GetAsync("/healthz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal(leaf.Thumbprint, trusting.Served);
        using var status = new HttpRequestMessage(HttpMethod.Get, "/status");
        status.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await trusting.SendAsync(status, TestContext.Current.CancellationToken)).StatusCode);

        // Without the CA the chain does not validate: the certificate is really checked, and really this one.
        using var untrusting = Client(gateway.Port, IPAddress.Loopback, trustCa: false);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("/healthz", TestContext.Current.CancellationToken));
        Assert.IsType<AuthenticationException>(refused.InnerException);

        // Plain HTTP is not served on the HTTPS port.
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gateway.Port}"), Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAnyAsync<Exception>(async () => (await plain.GetAsync("/healthz", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode());
    }

    [Fact]
    public async Task A_PFX_with_its_password_file_serves_HTTPS_too()
    {
        using var files = new TempFiles();
        using var leaf = DevCertificates.Issue(Ca, [HostName]);
        var pfx = files.Write("api.pfx", leaf.Export(X509ContentType.Pkcs12, "pfx-password"));
        var password = files.Write("api.password", "pfx-password\n");
        await using var gateway = await Gateway.StartAsync(files, "https", IPAddress.Loopback, ["--api-certificate", pfx, "--api-certificate-password-file", password]);

        using var client = Client(gateway.Port, IPAddress.Loopback, trustCa: true);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(leaf.Thumbprint, client.Served);
    }

    [Fact]
    public async Task Dashboard_Basic_credentials_from_another_host_are_refused_over_HTTP_and_accepted_over_HTTPS()
    {
        if (NonLoopbackAddress() is not { } remote)
        {
            Assert.Skip("this machine has no non-loopback IPv4 address to be 'another host' from");
            return;
        }

        using var files = new TempFiles();

        await using (var http = await Gateway.StartAsync(files, "http", IPAddress.Any, []))
        {
            using var fromRemote = Client(http.Port, remote, trustCa: false, scheme: "http");
            using var refused = await fromRemote.SendAsync(Basic(), TestContext.Current.CancellationToken);
            var detail = await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{refused.StatusCode}: {detail}");
            Assert.Contains("only over HTTPS or from a loopback client", detail, StringComparison.Ordinal);

            // Bearer still works from there, and Basic from loopback.
            using var bearer = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
            bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
            Assert.Equal(HttpStatusCode.OK, (await fromRemote.SendAsync(bearer, TestContext.Current.CancellationToken)).StatusCode);
            using var fromLoopback = Client(http.Port, IPAddress.Loopback, trustCa: false, scheme: "http");
            Assert.Equal(HttpStatusCode.OK, (await fromLoopback.SendAsync(Basic(), TestContext.Current.CancellationToken)).StatusCode);
        }

        using var leaf = DevCertificates.Issue(Ca, [HostName]);
        var pem = files.Write("api.pem", DevCertificates.ToPem(leaf) + DevCertificates.KeyToPem(leaf));
        await using var https = await Gateway.StartAsync(files, "https", IPAddress.Any, ["--api-certificate", pem]);
        using var overTls = Client(https.Port, remote, trustCa: true);
        Assert.Equal(HttpStatusCode.OK, (await overTls.SendAsync(Basic(), TestContext.Current.CancellationToken)).StatusCode);
    }

    [Theory]
    [InlineData("http", "--api-certificate", "is http but the API has a certificate")]
    [InlineData("https", null, "is https but the API has no certificate")]
    [InlineData("https", "--api-key-vault-certificate", "needs --key-vault-uri")]
    [InlineData("https", "--api-certificate-password-file", "give --api-certificate too")]
    [InlineData("https", "expired", "expired")]
    [InlineData("https", "not-a-certificate", "cannot be read")]
    public async Task A_certificate_and_a_scheme_that_disagree_are_a_usage_error(string scheme, string? option, string expected)
    {
        using var files = new TempFiles();
        using var leaf = DevCertificates.Issue(Ca, [HostName]);
        var pem = files.Write("api.pem", DevCertificates.ToPem(leaf) + DevCertificates.KeyToPem(leaf));
        var expiredTime = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddYears(-3));
        using var old = DevCertificates.Issue(Ca, [HostName], validDays: 30, clock: expiredTime);
        var expired = files.Write("expired.pem", DevCertificates.ToPem(old) + DevCertificates.KeyToPem(old));
        var garbage = files.Write("garbage.pem", "not a certificate");
        string[] extra = option switch
        {
            "--api-certificate" => ["--api-certificate", pem],
            "--api-key-vault-certificate" => ["--api-key-vault-certificate", "ogw-api"],
            "--api-certificate-password-file" => ["--api-certificate-password-file", files.Write("p", "x")],
            "expired" => ["--api-certificate", expired],
            "not-a-certificate" => ["--api-certificate", garbage],
            _ => [],
        };
        var error = new StringWriter();

        var exit = await Silo.Program.RunAsync(["--storage", "memory", "--api-url", $"{scheme}://127.0.0.1:{Ports.Free()}", .. extra], TextWriter.Null, error, CancellationToken.None);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    private static HttpRequestMessage Basic()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + AdminKey)));
        return request;
    }

    /// <summary>
    /// A client of https://gateway.test:port (or http) whose connections go to <paramref name="address"/>; with
    /// <paramref name="trustCa"/> it validates the chain against the test CA only, else against the system's roots.
    /// </summary>
    private static TestClient Client(int port, IPAddress address, bool trustCa, string scheme = "https")
    {
        string? served = null;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        if (trustCa)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None || certificate is null)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(Ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                served = leaf.Thumbprint;
                return chain.Build(leaf);
            };
        }

        return new TestClient(new HttpClient(handler) { BaseAddress = new Uri($"{scheme}://{HostName}:{port}"), Timeout = TimeSpan.FromSeconds(20) }, () => served);
    }

    /// <summary>An HTTP client and the thumbprint of the certificate its last TLS connection was served.</summary>
    private sealed class TestClient(HttpClient http, Func<string?> served) : IDisposable
    {
        public string? Served => served();

        public Task<HttpResponseMessage> GetAsync(string path, CancellationToken cancellationToken = default) => http.GetAsync(path, cancellationToken);

        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => http.SendAsync(request, cancellationToken);

        public void Dispose() => http.Dispose();
    }

    private static IPAddress? NonLoopbackAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(i => i.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    private sealed class TempFiles : IDisposable
    {
        private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ogw-https-");

        public string Write(string name, string content) => Write(name, Encoding.UTF8.GetBytes(content));

        public string Write(string name, byte[] content)
        {
            var path = Path.Combine(_directory.FullName, name);
            File.WriteAllBytes(path, content);
            return path;
        }

        public void Dispose() => _directory.Delete(recursive: true);
    }

    /// <summary>The real gateway in-process on memory storage, its API on <c>scheme://address:port</c>, stopped at dispose.</summary>
    private sealed class Gateway : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly StringWriter _error = new();
        private Task<int> _run = Task.FromResult(0);

        public int Port { get; } = Ports.Free();

        public static async Task<Gateway> StartAsync(TempFiles files, string scheme, IPAddress address, string[] extra)
        {
            var keyFile = files.Write($"admin-{Guid.NewGuid():N}.key", AdminKey);
            var gateway = new Gateway();
            string[] args =
            [
                .. Ports.SiloArgs(), "--bind-address", "127.0.0.1", "--admin-key-file", keyFile,
                "--api-url", $"{scheme}://{(address.Equals(IPAddress.Any) ? "0.0.0.0" : address.ToString())}:{gateway.Port}", .. extra,
            ];
            gateway._run = Task.Run(() => Silo.Program.RunAsync(args, TextWriter.Null, gateway._error, gateway._stop.Token));
            using var probe = Client(gateway.Port, IPAddress.Loopback, trustCa: true, scheme);
            var up = await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        return gateway._run.IsCompleted || (await probe.GetAsync("/readyz")).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                TimeSpan.FromSeconds(60));
            Assert.True(up && !gateway._run.IsCompleted, $"the gateway did not start: {gateway._error}");
            return gateway;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            var exit = await _run.WaitAsync(TimeSpan.FromSeconds(30));
            _stop.Dispose();
            Assert.True(exit == 0, $"gateway exited with {exit}: {_error}");
        }
    }
}
