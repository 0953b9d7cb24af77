using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests;

/// <summary>The compressed grain-state format that lets a big tenant fit one Azure Table entity (docs/control-plane.md).</summary>
public sealed class CompressedStateTests
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddGatewayModelSerializer())
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    private static readonly OrleansGrainStorageSerializer Plain = new(Serializer);

    [Fact]
    public void A_big_tenant_state_round_trips_and_is_far_smaller_than_uncompressed()
    {
        var state = Tenant(2_000);
        var compressed = new CompressedGrainStorageSerializer(Plain, CompressedGrainStorageSerializer.AzureTableMaxStateBytes);

        var stored = compressed.Serialize(state);
        var back = compressed.Deserialize<TenantState>(stored)!;

        Assert.Equal(state.Version, back.Version);
        Assert.Equal(state.Resources.Select(r => r.Resource.Ref), back.Resources.Select(r => r.Resource.Ref));
        Assert.Equal(((TcpMapping)state.Resources[^1].Resource).Host, ((TcpMapping)back.Resources[^1].Resource).Host);
        Assert.Equal(state.Resources[^1].Status.Messages.ToArray(), back.Resources[^1].Status.Messages.ToArray());
        Assert.True(stored.ToMemory().Length * 10 < Plain.Serialize(state).ToMemory().Length,
            $"{stored.ToMemory().Length} compressed vs {Plain.Serialize(state).ToMemory().Length} bytes");
    }

    [Fact]
    public void State_written_before_compression_is_still_read()
    {
        var state = Tenant(3);
        var legacy = Plain.Serialize(state);

        var back = new CompressedGrainStorageSerializer(Plain).Deserialize<TenantState>(legacy)!;

        Assert.Equal(state.Resources.Select(r => r.Resource.Ref), back.Resources.Select(r => r.Resource.Ref));
    }

    [Fact]
    public void State_over_the_limit_is_refused_with_its_sizes_and_what_to_do()
    {
        var limited = new CompressedGrainStorageSerializer(Plain, maxStoredBytes: 1_000);

        var error = Assert.Throws<InvalidOperationException>(() => limited.Serialize(Tenant(500)));

        Assert.Contains("TenantState", error.Message, StringComparison.Ordinal);
        Assert.Contains("over the 1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("Split the resources over several tenants", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_record_names_the_damage()
    {
        var compressed = new CompressedGrainStorageSerializer(Plain);
        var stored = compressed.Serialize(Tenant(50)).ToArray();

        var cut = new BinaryData(stored.AsMemory(0, stored.Length / 2));

        var error = Assert.Throws<InvalidDataException>(() => compressed.Deserialize<TenantState>(cut));
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
    }

    private static TenantState Tenant(int mappings) => new()
    {
        Version = 7,
        Resources = [.. Enumerable.Range(0, mappings).Select(i =>
        {
            var mapping = new TcpMapping
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"sni-{i:D5}"),
                Port = 8443,
                Host = string.Create(CultureInfo.InvariantCulture, $"app-{i}.zone-{i % 100}.example.test"),
                Service = "backend.apps:9000",
            };
            return new TenantResource(mapping, "test", new ResourceStatus(mapping.Ref, ResourceState.Accepted, [$"{mapping.Ref}: a note"], null));
        })],
    };
}
