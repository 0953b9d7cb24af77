using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using OrleansGateway.Silo;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// <c>--storage-endpoint</c> (docs/deploy.md): grain state and the membership table at a Table endpoint reached with a
/// token credential, no account key anywhere. The real gateway host against an Azurite over HTTPS that checks bearer
/// tokens; the only difference from AKS is the credential (the emulator's token instead of the workload identity's,
/// which needs Entra ID) and the trust of the emulator's self-signed certificate.
/// </summary>
public sealed class StorageEndpointTests(OAuthAzuriteFixture azurite) : IClassFixture<OAuthAzuriteFixture>
{
    private const string StorageAudience = "https://storage.azure.com";
    private const string AdminKey = "admin-key-for-storage-endpoint-tests-0123";

    [Fact]
    public async Task Grain_state_and_membership_live_at_the_endpoint_signed_in_with_a_token()
    {
        var credential = new EmulatorToken(StorageAudience);
        var service = "endpoint-" + Guid.NewGuid().ToString("N")[..8];
        using var dir = new TempConfigDir();
        var apiPort = Ports.Free();
        string[] args =
        [
            "--storage", "azure", "--clustering", "azure", "--storage-endpoint", azurite.TableEndpoint.ToString(),
            "--service-id", service, "--cluster-id", service, "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{Ports.Free()}",
            "--api-url", $"http://127.0.0.1:{apiPort}", "--bind-address", "127.0.0.1", "--admin-key-file", dir.Write("admin.key", AdminKey),
        ];
        using var stop = new CancellationTokenSource();
        var error = new StringWriter();
        var run = Task.Run(() => Program.RunAsync(args, TextWriter.Null, error, builder => builder.Services.AddSingleton(services =>
            new GatewayTables(services.GetRequiredService<GatewaySettings>().Cluster, credential, ClientOptions())), stop.Token));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            await Eventually.Until(async () => run.IsCompleted || await StatusAsync(http, "/readyz") == HttpStatusCode.OK, "the gateway to start", TimeSpan.FromSeconds(90));
            Assert.False(run.IsCompleted, $"the gateway stopped: {error}");

            using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tenants")
            {
                Content = new StringContent("""{"name":"acme"}""", Encoding.UTF8, "application/json"),
            };
            create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
            using var created = await http.SendAsync(create, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

            // What the gateway wrote, read back at the endpoint with a token: this silo in the membership table, the tenant's state.
            var tables = new TableServiceClient(azurite.TableEndpoint, credential, ClientOptions());
            var silos = await Entities(tables, "OrleansSiloInstances", $"PartitionKey eq '{service}'");
            Assert.NotEmpty(silos);
            var states = await Entities(tables, "OrleansGrainState", "");
            Assert.Contains(states, e => e.PartitionKey.StartsWith(service, StringComparison.Ordinal) && (e.PartitionKey + e.RowKey).Contains("acme", StringComparison.Ordinal));
            Assert.Contains("https://storage.azure.com/.default", credential.Scopes);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task The_emulator_refuses_a_token_for_another_audience()
    {
        // What makes the test above mean something: the emulator checks the token the gateway's client sends.
        var tables = new TableServiceClient(azurite.TableEndpoint, new EmulatorToken("https://vault.azure.net"), ClientOptions());

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => Entities(tables, "OrleansSiloInstances", ""));

        Assert.Equal(403, refused.Status);
    }

    private TableClientOptions ClientOptions()
    {
        var thumbprint = azurite.Certificate!.Thumbprint;
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == thumbprint,
        };
        return new TableClientOptions { Transport = new HttpClientTransport(handler), Retry = { MaxRetries = 1 } };
    }

    private static async Task<List<TableEntity>> Entities(TableServiceClient tables, string table, string filter)
    {
        var entities = new List<TableEntity>();
        await foreach (var entity in tables.GetTableClient(table).QueryAsync<TableEntity>(filter.Length == 0 ? null : filter))
        {
            entities.Add(entity);
        }

        return entities;
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// The token an Entra ID would issue for <paramref name="audience"/>, unsigned: Azurite's <c>--oauth basic</c> checks
    /// issuer, audience and lifetime, not the signature. Records the scopes it was asked for.
    /// </summary>
    private sealed class EmulatorToken(string audience) : TokenCredential
    {
        public ConcurrentBag<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes)
            {
                Scopes.Add(scope);
            }

            var now = DateTimeOffset.UtcNow;
            var expires = now.AddHours(1);
            var payload = JsonSerializer.Serialize(new
            {
                aud = audience,
                iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
                iat = now.AddMinutes(-5).ToUnixTimeSeconds(),
                nbf = now.AddMinutes(-5).ToUnixTimeSeconds(),
                exp = expires.ToUnixTimeSeconds(),
                oid = "00000000-0000-0000-0000-000000000002",
            });
            var token = $"{Base64Url("""{"alg":"none","typ":"JWT"}""")}.{Base64Url(payload)}.unsigned";
            return new AccessToken(token, expires);
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));

        private static string Base64Url(string text) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
