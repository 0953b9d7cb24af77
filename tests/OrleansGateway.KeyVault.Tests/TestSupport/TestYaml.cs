using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace OrleansGateway.KeyVault.Tests.TestSupport;

/// <summary>
/// The resources the KeyVault tests apply: a TLS Secret, and a Host with its TCPMapping. Names are JSON-quoted (valid
/// YAML), so any text — separators, newlines — reaches the gateway exactly as written.
/// </summary>
public static class TestYaml
{
    /// <summary>A <c>kubernetes.io/tls</c> Secret with <paramref name="certificate"/> in <c>data</c>.</summary>
    /// <param name="key">tls.key as sent; the certificate's own key when null.</param>
    public static string Secret(string name, X509Certificate2 certificate, string? ns = null, string? key = null) => $$"""
        apiVersion: v1
        kind: Secret
        metadata: { name: {{JsonSerializer.Serialize(name)}}{{(ns is null ? "" : ", namespace: " + JsonSerializer.Serialize(ns))}} }
        type: kubernetes.io/tls
        data:
          tls.crt: {{Base64(certificate.ExportCertificatePem())}}
          tls.key: {{Base64(key ?? Certs.KeyPem(certificate))}}
        """;

    /// <summary>A Host for <paramref name="host"/> naming the secret as given, and a TLS mapping on 127.0.0.1:<paramref name="port"/> to <paramref name="upstream"/>.</summary>
    public static string Route(string name, string host, string secret, int port, int upstream, string? secretNamespace = null)
    {
        var tlsSecret = secretNamespace is null
            ? $"{{ name: {JsonSerializer.Serialize(secret)} }}"
            : $"{{ name: {JsonSerializer.Serialize(secret)}, namespace: {JsonSerializer.Serialize(secretNamespace)} }}";
        return $$"""
            apiVersion: getambassador.io/v3alpha1
            kind: Host
            metadata: { name: {{name}} }
            spec: { hostname: {{host}}, tlsSecret: {{tlsSecret}} }
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: TCPMapping
            metadata: { name: {{name}} }
            spec: { port: {{port}}, address: 127.0.0.1, host: {{host}}, service: "127.0.0.1:{{upstream}}" }
            """;
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
