using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Serialization;
using Orleans.TestingHost;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Api.Tests;

/// <summary>Two silos for <see cref="AccessGrainTests"/>, started once for the class.</summary>
public sealed class AccessCluster : IAsyncLifetime
{
    public static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private InProcessTestCluster _cluster = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            silo.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
            silo.AddMemoryGrainStorage(GatewayStorage.Name);
        });
        builder.ConfigureClient(client => client.Services.AddSerializer(s => s.AddGatewayModelSerializer()));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();

    public IGrainFactory Silo(int index) => _cluster.Silos[index].ServiceProvider.GetRequiredService<IGrainFactory>();
}

/// <summary>The registry and key grains on a 2-silo cluster: a key issued or revoked through one silo is checked through the other at once.</summary>
public sealed class AccessGrainTests(AccessCluster cluster) : IClassFixture<AccessCluster>
{
    private static readonly DateTimeOffset Now = AccessCluster.Now;

    [Fact]
    public async Task A_key_revoked_through_one_silo_fails_at_once_through_the_other()
    {
        IGrainFactory first = Silo(0), second = Silo(1);
        var issued = await first.GetTenantKeysGrain("acme").IssueAsync("  ci  ");
        Assert.Equal("ci", issued.Key.Description);
        Assert.Equal(Now, issued.Key.CreatedAt);
        Assert.DoesNotContain(issued.Token, issued.ToString());

        Assert.True(ApiToken.TryParse(issued.Token, out var tenant, out var keyId, out var secret));
        Assert.Equal(("acme", issued.Key.Id), (tenant, keyId));
        Assert.Equal(32, secret.Length);
        Assert.True(await second.GetTenantKeysGrain("acme").VerifyAsync(keyId, SHA256.HashData(secret)));

        var wrong = (byte[])secret.Clone();
        wrong[0] ^= 1;
        Assert.False(await second.GetTenantKeysGrain("acme").VerifyAsync(keyId, SHA256.HashData(wrong)));
        Assert.False(await second.GetTenantKeysGrain("other").VerifyAsync(keyId, SHA256.HashData(secret)));

        Assert.True(await second.GetTenantKeysGrain("acme").RevokeAsync(keyId));
        Assert.False(await first.GetTenantKeysGrain("acme").VerifyAsync(keyId, SHA256.HashData(secret)));
        Assert.False(await first.GetTenantKeysGrain("acme").RevokeAsync(keyId));
        Assert.Empty(await first.GetTenantKeysGrain("acme").ListAsync());
    }

    [Fact]
    public async Task Registry_creates_once_lists_sorted_and_removes()
    {
        var registry = Silo(1).GetTenantRegistry();
        Assert.True(await registry.CreateAsync("zeta"));
        Assert.False(await registry.CreateAsync("zeta"));
        await registry.EnsureAsync("alpha");
        await registry.EnsureAsync("alpha");
        Assert.Equal(["alpha", "zeta"], (await Silo(0).GetTenantRegistry().ListAsync()).Select(e => e.Name));
        Assert.Equal(Now, (await registry.GetAsync("alpha"))!.CreatedAt);
        Assert.True(await registry.RemoveAsync("zeta"));
        Assert.False(await registry.RemoveAsync("zeta"));
        Assert.Null(await registry.GetAsync("zeta"));
    }

    private IGrainFactory Silo(int index) => cluster.Silo(index);
}

/// <summary><c>ApiToken</c>: the only reader and writer of tenant tokens.</summary>
public sealed class ApiTokenTests
{
    [Theory]
    [InlineData("ogw.acme.1f0c9a2b")]
    [InlineData("ogw.acme.1F0C9A2B.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.acme.1f0c9a2b.AAAA")]
    [InlineData("ogw..1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("xyz.acme.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.a/b.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.acme.1f0c9a2b.!!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.team.one.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.Acme.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.-acme.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.acme.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ogw.acme.1f0c9a2b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void Malformed_tokens_are_not_parsed(string token) => Assert.False(ApiToken.TryParse(token, out _, out _, out _));

    [Fact]
    public void A_token_round_trips()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        Assert.True(ApiToken.TryParse(ApiToken.Format("team-1", "0a1b2c3d", secret), out var tenant, out var keyId, out var parsed));
        Assert.Equal(("team-1", "0a1b2c3d"), (tenant, keyId));
        Assert.Equal(secret, parsed);
    }
}
