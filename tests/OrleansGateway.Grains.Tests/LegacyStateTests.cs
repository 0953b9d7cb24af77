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
/// and the value as this build reads it (<c>.json</c>).
/// </summary>
/// <remarks>
/// A type that gained members since (appended <c>[Id]</c>s, never renumbered) reads the earlier bytes with those members
/// at their documented defaults (<c>.json</c>), but Orleans writes every member, so its bytes gain the new field headers
/// and cannot stay the same; for those the check is that what this build writes reads back as the same value. An earlier
/// build skips field ids it does not know, which is what makes appending safe during a rolling upgrade.
/// </remarks>
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
        // TenantQuota gained AllowedUpstreams and AllowedHosts (ids 4, 5; read as null: unlimited, as before they existed)
        // and the bounded-input limits (ids 20-26, read as null: unlimited); TenantState gained ChangeInFlight (id 5).
        AssertAsBefore("tenant-state", b => Storage.Deserialize<TenantState>(b), v => Storage.Serialize(v), appended: true);
        // ListenerState gained Tenants (id 3; read as empty: the claims are still inline, and the listener grain moves
        // them to per-tenant entries on activation, ListenerGrainStorageTests).
        AssertAsBefore("listener-state", b => Storage.Deserialize<ListenerState>(b), v => Storage.Serialize(v), appended: true);

        // DirectoryState gained AllowedUpstreams (id 4; read as empty: no tenant restricted).
        AssertAsBefore("directory-state", b => Storage.Deserialize<DirectoryState>(b), v => Storage.Serialize(v), appended: true);

        // CertificateState gained Pinned (id 6; read as null: not a Secret kept in Key Vault, as before it existed).
        AssertAsBefore("certificate-state", b => Storage.Deserialize<CertificateState>(b), v => Storage.Serialize(v), appended: true);
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

    private static void AssertAsBefore<T>(string name, Func<BinaryData, T?> read, Func<T, BinaryData> write, bool appended = false)
    {
        var stored = File.ReadAllBytes(Fixture(name + ".bin"));
        var value = read(new BinaryData(stored));
        Assert.NotNull(value);
        Assert.Equal(File.ReadAllText(Fixture(name + ".json")), Json(value));
        var written = write(value);
        if (!appended)
        {
            Assert.True(stored.AsSpan().SequenceEqual(written.ToMemory().Span), $"{name}: written again, the bytes differ from the earlier build's");
            return;
        }

        Assert.Equal(Json(value), Json(read(written)));
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }) + "\n";

    private static string Fixture(string file, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", "legacy", file);
}
