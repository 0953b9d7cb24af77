using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Grains.Tests.Infrastructure;

/// <summary>Small builders for the resources the tests apply.</summary>
internal static class Res
{
    public static TcpMapping Mapping(string name, int port, string? host = null, string service = "127.0.0.1:9", string? tls = null) =>
        new() { Name = name, Port = port, Host = host, Service = service, Tls = tls };

    /// <summary>A Host with a certificate Secret for <paramref name="hostname"/>: both resources.</summary>
    public static ImmutableArray<Resource> TlsHost(string name, string hostname, out X509Certificate2 certificate)
    {
        var (crt, key, cert) = SelfSigned(hostname);
        certificate = cert;
        return
        [
            new HostResource { Name = name, Hostname = hostname, TlsSecretName = name + "-cert" },
            new SecretResource { Name = name + "-cert", Type = "kubernetes.io/tls", ApiVersion = "v1", TlsCrt = crt, TlsKey = key },
        ];
    }

    public static (string Crt, string Key, X509Certificate2 Certificate) SelfSigned(string hostname)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostname.Replace("*", "wildcard", StringComparison.Ordinal)}", key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), certificate);
    }

    public static ApplyRequest Strict(params Resource[] resources) => new([.. resources], ApplyMode.Strict, "api");

    public static ApplyRequest PerResource(params Resource[] resources) => new([.. resources], ApplyMode.PerResource, "config-dir");

    public static ResourceStatus StatusOf(this ApplyOutcome outcome, Resource resource) =>
        outcome.Statuses.Single(s => s.Resource == resource.Ref);

    public static ResourceStatus StatusOf(this TenantView view, Resource resource) =>
        view.Resources.Single(r => r.Resource.Ref == resource.Ref).Status;
}
