using System.Buffers;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;
using OrleansGateway.Certificates;

namespace OrleansGateway.Grains.Abstractions;

// The certificate records of OrleansGateway.Certificates cross grain calls and grain state through these codecs: that
// library stays free of Orleans (the CLI and the data plane use it). Each record is written as its wire twin below,
// which carries the alias and field ids the record had when it was declared in this project, so the bytes are the
// ones stored before the move (tests/OrleansGateway.Grains.Tests/LegacyStateTests.cs reads them).

[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateMaterial")]
internal sealed record CertificateMaterialWire(
    [property: Id(0)] string Type,
    [property: Id(1)] string? TlsCrt,
    [property: Id(2)] string? TlsKey,
    [property: Id(3)] string? CaCrt);

[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateInfo")]
internal sealed record CertificateInfoWire(
    [property: Id(0)] string Subject,
    [property: Id(1)] ImmutableArray<string> DnsNames,
    [property: Id(2)] DateTimeOffset NotBefore,
    [property: Id(3)] DateTimeOffset NotAfter,
    [property: Id(4)] string Thumbprint);

[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateUpload")]
internal sealed record CertificateUploadWire(
    [property: Id(0)] byte[] Content,
    [property: Id(1)] string? Password);

[RegisterSerializer, RegisterCopier]
internal sealed class CertificateMaterialCodec(IFieldCodec<CertificateMaterialWire> wire)
    : WireCodec<CertificateMaterial, CertificateMaterialWire>(wire)
{
    protected override CertificateMaterialWire ToWire(CertificateMaterial value) => new(value.Type, value.TlsCrt, value.TlsKey, value.CaCrt);

    protected override CertificateMaterial FromWire(CertificateMaterialWire wire) => new(wire.Type, wire.TlsCrt, wire.TlsKey, wire.CaCrt);
}

[RegisterSerializer, RegisterCopier]
internal sealed class CertificateInfoCodec(IFieldCodec<CertificateInfoWire> wire) : WireCodec<CertificateInfo, CertificateInfoWire>(wire)
{
    protected override CertificateInfoWire ToWire(CertificateInfo value) =>
        new(value.Subject, value.DnsNames, value.NotBefore, value.NotAfter, value.Thumbprint);

    protected override CertificateInfo FromWire(CertificateInfoWire wire) =>
        new(wire.Subject, wire.DnsNames, wire.NotBefore, wire.NotAfter, wire.Thumbprint);
}

[RegisterSerializer, RegisterCopier]
internal sealed class CertificateUploadCodec(IFieldCodec<CertificateUploadWire> wire) : WireCodec<CertificateUpload, CertificateUploadWire>(wire)
{
    protected override CertificateUploadWire ToWire(CertificateUpload value) => new(value.Content, value.Password);

    protected override CertificateUpload FromWire(CertificateUploadWire wire) => new(wire.Content, wire.Password);
}

/// <summary>
/// Writes <typeparamref name="T"/> exactly as the generated codec of <typeparamref name="TWire"/> writes its twin (a field
/// of the declared type carries no type name, so the bytes are the same); immutable, so copies are the value itself.
/// </summary>
internal abstract class WireCodec<T, TWire>(IFieldCodec<TWire> wire) : IFieldCodec<T>, IDeepCopier<T>, IOptionalDeepCopier
    where T : class
    where TWire : class
{
    protected abstract TWire ToWire(T value);

    protected abstract T FromWire(TWire wire);

    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, [AllowNull] Type expectedType, [AllowNull] T value)
        where TBufferWriter : IBufferWriter<byte> =>
        wire.WriteField(ref writer, fieldIdDelta, expectedType == typeof(T) ? typeof(TWire) : expectedType, value is null ? null : ToWire(value));

    [return: MaybeNull]
    public T ReadValue<TInput>(ref Reader<TInput> reader, Field field) => wire.ReadValue(ref reader, field) is { } read ? FromWire(read) : null;

    [return: NotNullIfNotNull(nameof(input))]
    public T? DeepCopy(T? input, CopyContext context) => input;

    public bool IsShallowCopyable() => true;
}
