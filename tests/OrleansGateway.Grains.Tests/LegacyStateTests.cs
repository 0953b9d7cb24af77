using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// Grain state and grain messages written by an earlier build (commit d7ead2e, before the projects' namespaces
/// followed their folders) must still be read: stored state outlives every build, and Model records travel through the
/// JSON codec with their type name. Each fixture is the stored bytes (<c>.bin</c>: grain state as the Azure Table
/// storage writes it, messages as the serializer writes them) and the value as that build read it (<c>.json</c>).
/// </summary>
public sealed class LegacyStateTests
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddGatewayModelSerializer())
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    private static readonly CompressedGrainStorageSerializer Storage = new(new OrleansGrainStorageSerializer(Serializer));

    [Fact]
    public void Stored_grain_state_of_every_grain_is_read() => Assert.All(new (string Name, Func<BinaryData, object?> Read)[]
    {
        ("tenant-state", b => Storage.Deserialize<TenantState>(b)),
        ("listener-state", b => Storage.Deserialize<ListenerState>(b)),
        ("directory-state", b => Storage.Deserialize<DirectoryState>(b)),
        ("certificate-state", b => Storage.Deserialize<CertificateState>(b)),
        ("tenant-registry-state", b => Storage.Deserialize<TenantRegistryState>(b)),
        ("tenant-keys-state", b => Storage.Deserialize<TenantKeysState>(b)),
    }, f => AssertReadsAsBefore(f.Name, f.Read));

    [Fact]
    public void Grain_messages_with_model_records_are_read() => Assert.All(new (string Name, Func<BinaryData, object?> Read)[]
    {
        ("apply-request", b => Serializer.Deserialize<ApplyRequest>(b.ToArray())),
        ("apply-outcome", b => Serializer.Deserialize<ApplyOutcome>(b.ToArray())),
        ("listener-slice", b => Serializer.Deserialize<ListenerSlice>(b.ToArray())),
    }, f => AssertReadsAsBefore(f.Name, f.Read));

    private static void AssertReadsAsBefore(string name, Func<BinaryData, object?> read)
    {
        var bytes = new BinaryData(File.ReadAllBytes(Fixture(name + ".bin")));
        var value = read(bytes);
        Assert.NotNull(value);
        var expected = File.ReadAllText(Fixture(name + ".json"));
        Assert.Equal(expected, JsonSerializer.Serialize(value, value.GetType(), new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static string Fixture(string file, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", "legacy", file);
}
