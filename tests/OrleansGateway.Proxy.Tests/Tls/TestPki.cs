using System.Security.Cryptography.X509Certificates;
using OrleansGateway.Certificates.Development;

namespace OrleansGateway.Proxy.Tests.Tls;

/// <summary>One small PKI per test run (key generation is the slow part): a CA, certificates it issued, and a stranger CA.</summary>
internal static class TestPki
{
    public static readonly X509Certificate2 Ca = DevCertificates.CreateCa("Test Root CA");
    public static readonly X509Certificate2 OtherCa = DevCertificates.CreateCa("Unrelated CA");
    public static readonly X509Certificate2 Server = DevCertificates.Issue(Ca, ["server.test", "*.server.test"]);
    public static readonly X509Certificate2 RsaServer = DevCertificates.Issue(Ca, ["rsa.server.test"], algorithm: DevKeyAlgorithm.Rsa2048);
    public static readonly X509Certificate2 Client = DevCertificates.Issue(Ca, ["client.test"], clientAuth: true);
    public static readonly X509Certificate2 StrangerClient = DevCertificates.Issue(OtherCa, ["stranger.test"], clientAuth: true);
    public static readonly X509Certificate2 StrangerServer = DevCertificates.Issue(OtherCa, ["server.test"]);
}
