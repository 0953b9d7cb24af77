using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansGateway.Host.Tests;

/// <summary>A temporary directory of resource files, deleted at dispose.</summary>
internal sealed class TempConfigDir : IDisposable
{
    public TempConfigDir()
    {
        Path = Directory.CreateTempSubdirectory("ogw-host-tests-").FullName;
    }

    public string Path { get; }

    public string Write(string relative, string text)
    {
        var file = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);

        // Write beside and rename, as editors and ConfigMaps do, so a reload never sees half a file.
        File.WriteAllText(file + ".tmp", text);
        File.Move(file + ".tmp", file, overwrite: true);
        return file;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A gateway still shutting down may hold a watcher on it; the OS cleans temp eventually.
        }
    }
}

internal static class Yaml
{
    /// <param name="address">The listen address (<c>spec.address</c>), written quoted.</param>
    public static string TcpMapping(string name, int port, string service, string? host = null, string? address = null) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TCPMapping
        metadata:
          name: {name}
        spec:
          port: {port}
          service: {service}
        {(host is null ? "" : $"  host: {host}")}
        {(address is null ? "" : $"  address: \"{address}\"")}
        """;

    /// <summary>A Host for <paramref name="hostname"/> serving the TLS Secret <paramref name="secret"/>.</summary>
    public static string Host(string name, string hostname, string secret) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: Host
        metadata:
          name: {name}
        spec:
          hostname: "{hostname}"
          tlsSecret:
            name: {secret}
        """;

    public static string TlsContext(string name, string host, string secret) => $"""
        ---
        apiVersion: getambassador.io/v3alpha1
        kind: TLSContext
        metadata:
          name: {name}
        spec:
          hosts:
          - {host}
          secret: {secret}
        """;

    /// <summary>A kubernetes.io/tls Secret with base64 <c>data</c>, as kubectl writes it.</summary>
    /// <param name="keyFrom">Takes the private key from this certificate instead (a key that does not match).</param>
    public static string TlsSecret(string name, X509Certificate2 certificate, X509Certificate2? keyFrom = null)
    {
        using var key = (keyFrom ?? certificate).GetRSAPrivateKey()!;
        return $"""
            ---
            apiVersion: v1
            kind: Secret
            metadata:
              name: {name}
            type: kubernetes.io/tls
            data:
              tls.crt: {Base64(certificate.ExportCertificatePem())}
              tls.key: {Base64(key.ExportPkcs8PrivateKeyPem())}
            """;
    }

    private static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(text));
}

internal static class TestCertificates
{
    public static X509Certificate2 SelfSigned(string host)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}
