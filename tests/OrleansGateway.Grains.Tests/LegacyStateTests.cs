using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansGateway.Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Grains.Access;

namespace OrleansGateway.Grains.Tests;

/// <summary>
/// Grain state and grain messages written by an earlier build (commit d7ead2e, before the projects' namespaces
/// followed their folders and the certificate records moved to OrleansGateway.Certificates) must still be read, and
/// written again as the same bytes: stored state outlives every build, and during a rolling upgrade silos of both
/// builds call each other. Model records travel through the JSON codec with their type name. Each fixture is the
/// stored bytes (<c>.bin</c>: grain state as the Azure Table storage writes it, messages as the serializer writes them)
/// and the value as that build read it (<c>.json</c>).
/// </summary>
public sealed class LegacyStateTests
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddGatewayModelSerializer())
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    private static readonly CompressedGrainStorageSerializer Storage = new(new OrleansGrainStorageSerializer(Serializer));

    [Fact]
    public void Stored_grain_state_of_every_grain_is_read_and_written_as_before()
    {
        // TenantState and TenantQuota have appended fields since (issue 14: ChangeInFlight, the bounded-input limits), which
        // are written even at their defaults: the bytes are the earlier ones plus those fields, which an earlier build
        // skips as unknown ids. So the old bytes must read as before, and what is written now must read back the same.
        AssertAsBefore("tenant-state", b => Storage.Deserialize<TenantState>(b), v => Storage.Serialize(v), sameBytes: false);
        AssertAsBefore("listener-state", b => Storage.Deserialize<ListenerState>(b), v => Storage.Serialize(v));
        AssertAsBefore("directory-state", b => Storage.Deserialize<DirectoryState>(b), v => Storage.Serialize(v));
        AssertAsBefore("certificate-state", b => Storage.Deserialize<CertificateState>(b), v => Storage.Serialize(v));
        AssertAsBefore("tenant-registry-state", b => Storage.Deserialize<TenantRegistryState>(b), v => Storage.Serialize(v));
        AssertAsBefore("tenant-keys-state", b => Storage.Deserialize<TenantKeysState>(b), v => Storage.Serialize(v));
    }

    [Fact]
    public void Grain_messages_are_read_and_written_as_before()
    {
        AssertAsBefore("apply-request", Message<ApplyRequest>, Message);
        AssertAsBefore("apply-outcome", Message<ApplyOutcome>, Message);
        AssertAsBefore("listener-slice", Message<ListenerSlice>, Message);
        AssertAsBefore("certificate-view", Message<CertificateView>, Message);
        AssertAsBefore("certificate-status", Message<CertificateStatus>, Message);
        AssertAsBefore("certificate-upload", Message<CertificateUpload>, Message);
    }

    private static T? Message<T>(BinaryData bytes) => Serializer.Deserialize<T>(bytes.ToArray());

    private static BinaryData Message<T>(T value) => new(Serializer.SerializeToArray(value));

    private static void AssertAsBefore<T>(string name, Func<BinaryData, T?> read, Func<T, BinaryData> write, bool sameBytes = true)
    {
        var stored = File.ReadAllBytes(Fixture(name + ".bin"));
        var value = read(new BinaryData(stored));
        Assert.NotNull(value);
        var json = File.ReadAllText(Fixture(name + ".json"));
        Assert.Equal(json, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        if (sameBytes)
        {
            Assert.True(stored.AsSpan().SequenceEqual(write(value).ToMemory().Span), $"{name}: written again, the bytes differ from the earlier build's");
        }
        else
        {
            Assert.Equal(json, JsonSerializer.Serialize(read(write(value)), new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }

    private static string Fixture(string file, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", "legacy", file);
}
