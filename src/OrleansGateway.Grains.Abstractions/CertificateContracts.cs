using OrleansGateway.Certificates;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>A certificate grain's content. <see cref="Version"/> is a hash of the material (null when there is none).</summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateView")]
public sealed record CertificateView(
    [property: Id(0)] string? Version,
    [property: Id(1)] CertificateMaterial? Material);

/// <summary>What a certificate grain can say about its material.</summary>
public enum CertificateHealth
{
    /// <summary>Not read yet (just activated, or the source was never reached).</summary>
    Pending,

    /// <summary>The current material is in service.</summary>
    Ready,

    /// <summary>The source answered with material that is refused (expired, not yet valid, key mismatch, unreadable); the last good material, if any, stays in service.</summary>
    Refused,

    /// <summary>The source could not be reached; the last good material, if any, stays in service.</summary>
    Unavailable,

    /// <summary>The source has no such certificate; nothing is served.</summary>
    NotFound,
}

/// <summary>
/// A certificate grain's status, for the management API and tests. Holds no key material.
/// </summary>
/// <param name="Source">One of <see cref="CertificateSources"/>, null when the grain holds nothing.</param>
/// <param name="Location">Where the source keeps it: the Key Vault certificate name; null for Secrets.</param>
/// <param name="SourceVersion">The source's version of the material in service (Key Vault version id).</param>
/// <param name="Message">Why the state is not Ready (names the certificate and what to do); null when Ready.</param>
/// <param name="Serving">The certificate in service (the last good one when the state is Refused or Unavailable).</param>
/// <param name="LastChecked">When the source was last asked (null for Secrets: they are pushed).</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificateStatus")]
public sealed record CertificateStatus(
    [property: Id(0)] string? Source,
    [property: Id(1)] string? Location,
    [property: Id(2)] string? SourceVersion,
    [property: Id(3)] CertificateHealth State,
    [property: Id(4)] string? Message,
    [property: Id(5)] CertificateInfo? Serving,
    [property: Id(6)] DateTimeOffset? LastChecked);

/// <summary>
/// A version of a tenant's Secret resource kept in the certificate source (Key Vault) instead of grain storage: what
/// the tenant grain stores in place of the Secret's key (<see cref="SecretKeyMarker"/>) and hands its certificate grain.
/// </summary>
/// <param name="Location">The source's name of the certificate (the Key Vault certificate name).</param>
/// <param name="Version">The source's version that holds this Secret's material.</param>
/// <param name="Thumbprint">Of the certificate in <c>tls.crt</c>.</param>
/// <param name="Hash">SHA-256 of the material (type, tls.crt, tls.key, ca.crt): the same material has the same hash, so
/// applying the same Secret again stores nothing new.</param>
[GenerateSerializer, Immutable, Alias("OrleansGateway.CertificatePin")]
public sealed record CertificatePin(
    [property: Id(0)] string Location,
    [property: Id(1)] string Version,
    [property: Id(2)] string Thumbprint,
    [property: Id(3)] string Hash);

/// <summary>
/// The text a tenant grain stores in a Secret resource's <c>tls.key</c> when a certificate source is configured
/// (docs/key-vault.md, "Secret resources"): either where the key is kept (<see cref="Kept"/>), or that it was not
/// stored and why (<see cref="NotStored"/>). Neither is PEM, so neither can be mistaken for a key; the only code that
/// writes or reads them.
/// </summary>
public static partial class SecretKeyMarker
{
    private const string KeptStart = "(key kept in the certificate source: ";
    private const string NotStoredStart = "(key not stored: ";

    public static string Kept(CertificatePin pin)
    {
        ArgumentNullException.ThrowIfNull(pin);
        return $"{KeptStart}{pin.Location} version {pin.Version}; thumbprint {pin.Thumbprint}; sha256 {pin.Hash})";
    }

    /// <param name="reason">One line, without key material.</param>
    public static string NotStored(string reason) => $"{NotStoredStart}{reason.ReplaceLineEndings(" ")})";

    /// <summary>Whether <paramref name="tlsKey"/> is a marker (of either kind) rather than a key.</summary>
    public static bool IsMarker(string? tlsKey) =>
        tlsKey is not null && tlsKey.EndsWith(')') && (tlsKey.StartsWith(KeptStart, StringComparison.Ordinal) || tlsKey.StartsWith(NotStoredStart, StringComparison.Ordinal));

    /// <summary>The pin of a <see cref="Kept"/> marker; null for anything else.</summary>
    public static CertificatePin? ReadKept(string? tlsKey)
    {
        var match = tlsKey is null ? null : KeptPattern().Match(tlsKey);
        return match is { Success: true }
            ? new CertificatePin(match.Groups["location"].Value, match.Groups["version"].Value, match.Groups["thumbprint"].Value, match.Groups["hash"].Value)
            : null;
    }

    /// <summary>The reason of a <see cref="NotStored"/> marker; null for anything else.</summary>
    public static string? ReadNotStored(string? tlsKey) =>
        IsMarker(tlsKey) && tlsKey!.StartsWith(NotStoredStart, StringComparison.Ordinal) ? tlsKey[NotStoredStart.Length..^1] : null;

    [System.Text.RegularExpressions.GeneratedRegex(@"^\(key kept in the certificate source: (?<location>[0-9A-Za-z-]+) version (?<version>[0-9A-Za-z]+); thumbprint (?<thumbprint>[0-9A-F]+); sha256 (?<hash>[0-9a-f]{64})\)$")]
    private static partial System.Text.RegularExpressions.Regex KeptPattern();
}
