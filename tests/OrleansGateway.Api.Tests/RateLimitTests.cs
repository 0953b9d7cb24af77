using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OrleansGateway.Api.Tests.Infrastructure;

namespace OrleansGateway.Api.Tests;

/// <summary>
/// The API's rate limits through the real HTTP stack (docs/api.md "Rate limits"): a gateway with 3 requests per
/// second per key and 10 per address. A second client address is 127.0.0.2 (all of 127.0.0.0/8 is loopback).
/// </summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private readonly ApiGateway _gateway = new(withAdminKey: true, "--api-rate-limit", "3", "--api-rate-limit-per-source", "10");

    public async ValueTask InitializeAsync() => await _gateway.InitializeAsync();

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_key_over_its_rate_gets_429_with_Retry_After_and_other_keys_are_not_slowed()
    {
        var flooder = await _gateway.CreateTenantAsync("flooder");
        var other = await _gateway.CreateTenantAsync("other");
        await RefillAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => _gateway.SendAsync(HttpMethod.Get, "/api/v1/whoami", flooder)));
        var refused = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(refused);
        Assert.InRange(answers.Count(a => a.StatusCode == HttpStatusCode.OK), 3, 5);
        var retryAfter = Assert.Single(refused[0].Headers.GetValues("Retry-After"));
        Assert.InRange(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture), 1, 2);
        Assert.Equal("application/problem+json", refused[0].Content.Headers.ContentType?.MediaType);
        var detail = JsonDocument.Parse(await refused[0].Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("detail").GetString();
        Assert.Contains("3 per second per key, --api-rate-limit", detail);

        using var unaffected = await _gateway.SendAsync(HttpMethod.Get, "/api/v1/whoami", other);
        Assert.Equal(HttpStatusCode.OK, unaffected.StatusCode);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Fact]
    public async Task An_address_over_its_rate_gets_429_whatever_its_keys_and_other_addresses_are_served()
    {
        var token = await _gateway.CreateTenantAsync("neighbour");
        await RefillAsync();
        using var attacker = FromAddress(IPAddress.Parse("127.0.0.2"));

        // Garbage keys: each would cost a grain call if it got past the limit.
        var answers = await Task.WhenAll(Enumerable.Range(0, 15).Select(i =>
            attacker.SendAsync(_gateway.Request(HttpMethod.Get, "/api/v1/whoami", $"ogw.t{i}.0000000{i % 10}.{new string('A', 43)}"))));
        Assert.InRange(answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests), 2, 15);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.TooManyRequests, HttpStatusCode.Unauthorized }));

        // Health is never limited; the neighbour on another address is served.
        using var ready = await attacker.GetAsync("/readyz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var served = await _gateway.SendAsync(HttpMethod.Get, "/api/v1/whoami", token);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    /// <summary>Every bucket holds one second's worth: after that long, each is full again.</summary>
    private static Task RefillAsync() => Task.Delay(TimeSpan.FromSeconds(1.2));

    private HttpClient FromAddress(IPAddress local) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(local, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    {
        BaseAddress = _gateway.Http.BaseAddress,
    };
}
