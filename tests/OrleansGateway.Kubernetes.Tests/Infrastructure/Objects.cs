using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace OrleansGateway.Kubernetes.Tests.Infrastructure;

/// <summary>Kubernetes objects as a cluster holds them, for <see cref="FakeApiServer.Apply"/>.</summary>
public static class Objects
{
    public const string Ambassador = "getambassador.io/v3alpha1";

    public static JsonObject Namespace(string name, string? tenant = null) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Namespace",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = tenant is null
                ? new JsonObject { ["kubernetes.io/metadata.name"] = name }
                : new JsonObject { ["kubernetes.io/metadata.name"] = name, ["orleansgateway.io/tenant"] = tenant },
        },
    };

    public static JsonObject TcpMapping(string ns, string name, int port, string service, string? host = null, string? resolver = null, string? ambassadorId = null)
    {
        var spec = new JsonObject { ["port"] = port, ["service"] = service };
        if (host is not null)
        {
            spec["host"] = host;
        }

        if (resolver is not null)
        {
            spec["resolver"] = resolver;
        }

        if (ambassadorId is not null)
        {
            spec["ambassador_id"] = new JsonArray(ambassadorId);
        }

        return Custom("TCPMapping", ns, name, spec);
    }

    public static JsonObject TlsContext(string ns, string name, string host, string secret) =>
        Custom("TLSContext", ns, name, new JsonObject { ["hosts"] = new JsonArray(host), ["secret"] = secret });

    /// <summary>A Host for <paramref name="hostname"/> whose certificate is the TLS Secret <paramref name="secret"/>.</summary>
    public static JsonObject Host(string ns, string name, string hostname, string secret) =>
        Custom("Host", ns, name, new JsonObject { ["hostname"] = hostname, ["tlsSecret"] = new JsonObject { ["name"] = secret } });

    /// <summary>A self-signed ECDSA certificate for <paramref name="host"/> with its private key, valid for a day.</summary>
    public static X509Certificate2 Certificate(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    public static JsonObject EndpointResolver(string ns, string name) => Custom("KubernetesEndpointResolver", ns, name, []);

    public static JsonObject TlsSecret(string ns, string name, X509Certificate2 certificate) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["type"] = "kubernetes.io/tls",
        ["data"] = new JsonObject
        {
            ["tls.crt"] = Base64(certificate.ExportCertificatePem()),
            ["tls.key"] = Base64(certificate.GetECDsaPrivateKey() is { } ec ? ec.ExportPkcs8PrivateKeyPem() : certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem()),
        },
    };

    public static JsonObject OpaqueSecret(string ns, string name, string key, string value) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["type"] = "Opaque",
        ["data"] = new JsonObject { [key] = Base64(value) },
    };

    /// <summary>A Service with TCP ports (name, port, targetPort).</summary>
    public static JsonObject Service(string ns, string name, params (string Name, int Port, int TargetPort)[] ports)
    {
        var list = new JsonArray();
        foreach (var (portName, port, target) in ports)
        {
            list.Add(new JsonObject { ["name"] = portName, ["protocol"] = "TCP", ["port"] = port, ["targetPort"] = target });
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject { ["type"] = "ClusterIP", ["ports"] = list },
        };
    }

    /// <summary>An EndpointSlice of <paramref name="service"/>: one port (named like the Service port) and endpoints (address, ready).</summary>
    public static JsonObject EndpointSlice(string ns, string name, string service, string portName, int port, params (string Address, bool Ready)[] endpoints)
    {
        var list = new JsonArray();
        foreach (var (address, ready) in endpoints)
        {
            list.Add(new JsonObject { ["addresses"] = new JsonArray(address), ["conditions"] = new JsonObject { ["ready"] = ready } });
        }

        return new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service },
            },
            ["addressType"] = "IPv4",
            ["ports"] = new JsonArray(new JsonObject { ["name"] = portName, ["protocol"] = "TCP", ["port"] = port }),
            ["endpoints"] = list,
        };
    }

    public static string Collection(string plural) => $"{Ambassador}/{plural}";

    private static JsonObject Custom(string kind, string ns, string name, JsonObject spec) => new()
    {
        ["apiVersion"] = Ambassador,
        ["kind"] = kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
        ["spec"] = spec,
    };

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
