using System.Globalization;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Abstractions;

/// <summary>
/// The key of an <see cref="IListenerGrain"/>: one listener (address:port) of one gateway installation
/// (<c>ambassador_id</c>). The only place that builds or reads listener grain keys.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrleansGateway.ListenerKey")]
public sealed record ListenerKey(
    [property: Id(0)] string AmbassadorId,
    [property: Id(1)] ListenerEndpoint Endpoint)
{
    /// <summary>The grain key, e.g. <c>default/0.0.0.0:8443</c> or <c>default/[::]:8443</c>.</summary>
    public string Value => $"{AmbassadorId}/{Endpoint}";

    /// <summary>The key of the <see cref="IListenerPortGrain"/> of this listener's port, e.g. <c>default/8443</c>.</summary>
    public string ToPortKey() => $"{AmbassadorId}/{Endpoint.Port.ToString(CultureInfo.InvariantCulture)}";

    public static ListenerKey For(string ambassadorId, ListenerEndpoint endpoint)
    {
        KeyParts.CheckSegment(ambassadorId, "ambassador id");
        ArgumentNullException.ThrowIfNull(endpoint);
        return new ListenerKey(ambassadorId, endpoint);
    }

    /// <summary>Reads a key made by <see cref="Value"/>; throws <see cref="FormatException"/> on anything else.</summary>
    public static ListenerKey Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var colon = key.LastIndexOf(':');
        if (slash <= 0 || colon <= slash + 1 || colon == key.Length - 1
            || !int.TryParse(key.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new FormatException($"'{key}' is not a listener key: expected '<ambassador id>/<address>:<port>'.");
        }

        var address = key[(slash + 1)..colon];
        if (address.StartsWith('[') && address.EndsWith(']'))
        {
            address = address[1..^1];
        }

        return new ListenerKey(key[..slash], new ListenerEndpoint(address, port));
    }

    public override string ToString() => Value;
}

/// <summary>The key of an <see cref="ICertificateGrain"/>: one Secret of one tenant. The only place that builds or reads them.</summary>
public static class CertificateKey
{
    /// <summary>E.g. <c>tenant-a/default/tls-cert</c>; the tenant comes from <see cref="SecretRef.Tenant"/>.</summary>
    public static string For(SecretRef secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        KeyParts.CheckSegment(secret.Tenant, "tenant");
        KeyParts.CheckSegment(secret.Namespace, "namespace");
        KeyParts.CheckSegment(secret.Name, "secret name");
        return $"{secret.Tenant}/{secret.Namespace}/{secret.Name}";
    }

    /// <summary>Reads a key made by <see cref="For"/>; throws <see cref="FormatException"/> on anything else.</summary>
    public static SecretRef Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parts = key.Split('/');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            throw new FormatException($"'{key}' is not a certificate key: expected '<tenant>/<namespace>/<secret name>'.");
        }

        return new SecretRef(parts[1], parts[2]) { Tenant = parts[0] };
    }
}

/// <summary>Tenant ids name tenant grains and are parts of certificate keys.</summary>
public static class TenantKey
{
    /// <summary>Throws when <paramref name="tenant"/> cannot be a tenant id (empty, or with a '/').</summary>
    public static string For(string tenant)
    {
        KeyParts.CheckSegment(tenant, "tenant");
        return tenant;
    }
}

internal static class KeyParts
{
    public static void CheckSegment(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0 || value.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"a {what} must be non-empty and contain no '/'; got '{value}'.", nameof(value));
        }
    }
}
