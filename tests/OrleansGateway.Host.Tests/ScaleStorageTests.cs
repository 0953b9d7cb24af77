using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Grains;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Host.Tests;

/// <summary>
/// A tenant of 10,000 TLS TCPMappings on real Azure Table storage (a private Azurite): uncompressed its state would
/// not fit one table entity; the gateway stores it compressed and a new activation reads it back (issue 7 item 4).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ScaleStorageTests(AzuriteFixture azurite)
{
    private const int Mappings = 10_000;

    [Fact]
    public async Task A_tenant_of_10000_mappings_is_stored_in_Azure_Table_storage_and_read_back_by_a_new_activation()
    {
        var service = "scale-" + Guid.NewGuid().ToString("N")[..8];
        string[] storage = ["--role", "core", "--storage", "azure", "--storage-connection-string", azurite.ConnectionString,
            "--service-id", service, "--cluster-id", service, "--clustering", "localhost"];
        var resources = Resources();

        var gateway = Ports.Free();
        await using var core = await RunningGateway.LaunchAsync([.. storage, "--silo-port", $"{Ports.Free()}", "--gateway-port", $"{gateway}"]);
        using var client = await ClientAsync(gateway, service);
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var tenant = grains.GetTenantGrain("big");
        var outcome = await tenant.ApplyAsync(new ApplyRequest(resources, ApplyMode.PerResource, "test"));
        Assert.True(outcome.Accepted);
        Assert.Equal(Mappings, outcome.Statuses.Count(s => s.Resource.Kind == "TCPMapping" && s.State == ResourceState.Accepted));

        // Without compression this state would not fit one entity: the test would pass for the wrong reason otherwise.
        var applied = await tenant.GetAsync();
        var raw = new OrleansGrainStorageSerializer(client.Services.GetRequiredService<Serializer>())
            .Serialize(new TenantState { Version = applied.Version, Resources = applied.Resources, Quota = applied.Quota });
        Assert.True(raw.ToMemory().Length > CompressedGrainStorageSerializer.AzureTableMaxStateBytes, $"{raw.ToMemory().Length} bytes");

        // Deactivate every idle grain: the next call activates the tenant again from what Table storage holds.
        // (Cheaper than a second gateway start; Routes_survive_a_restart_without_the_config_dir covers restarts.)
        var management = grains.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        Assert.True(await Eventually.TrueAsync(
            async () => !(await management.GetDetailedGrainStatistics()).Any(g => g.GrainId.ToString().StartsWith("tenant/big", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10)));

        var stored = await tenant.GetAsync();
        Assert.Equal(applied.Version, stored.Version);
        var mappings = stored.Resources.Where(r => r.Resource is TcpMapping).ToList();
        Assert.Equal(Mappings, mappings.Count);
        Assert.All(mappings, r => Assert.Equal(ResourceState.Accepted, r.Status.State));
        var last = mappings.Select(r => (TcpMapping)r.Resource).Single(m => m.Name == "sni-09999");
        Assert.Equal("app-9999.zone-99.scale.test", last.Host);
    }

    /// <summary>10,000 SNI names on one port under one wildcard Host and its Secret.</summary>
    private static ImmutableArray<Resource> Resources()
    {
        using var certificate = DevCertificates.CreateSelfSignedServer(["*.scale.test"]);
        var builder = ImmutableArray.CreateBuilder<Resource>(Mappings + 2);
        builder.Add(DevCertificates.ToSecret("wildcard-cert", "default", certificate));
        builder.Add(new HostResource { Name = "wildcard", Hostname = "*.scale.test", TlsSecretName = "wildcard-cert" });
        for (var i = 0; i < Mappings; i++)
        {
            builder.Add(new TcpMapping
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"sni-{i:D5}"),
                Port = 8443,
                Host = string.Create(CultureInfo.InvariantCulture, $"app-{i}.zone-{i % 100}.scale.test"),
                Service = string.Create(CultureInfo.InvariantCulture, $"backend-{i % 50}.apps:9000"),
            });
        }

        return builder.MoveToImmutable();
    }

    private static async Task<IHost> ClientAsync(int gatewayPort, string service)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                client.UseLocalhostClustering(gatewayPort, serviceId: service, clusterId: service);
                client.Services.AddSerializer(s => s.AddGatewayModelSerializer());
            })
            .Build();
        await host.StartAsync();
        return host;
    }
}
