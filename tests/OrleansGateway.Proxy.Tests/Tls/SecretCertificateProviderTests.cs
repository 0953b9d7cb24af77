using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using OrleansGateway.Certificates;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Proxy.Tests.Tls;

public sealed class SecretCertificateProviderTests
{
    private static SecretCertificateProvider Load(out ImmutableArray<Diagnostic> problems, params SecretResource[] secrets)
        => SecretCertificateProvider.FromSecrets(secrets, out problems);

    private static SecretResource Secret(string name, string? crt = null, string? key = null, string? ca = null, string type = "kubernetes.io/tls")
        => new() { ApiVersion = "v1", Name = name, Namespace = "ns", Type = type, TlsCrt = crt, TlsKey = key, CaCrt = ca };

    private static readonly SecretRef Ref = new("ns", "s");

    [Fact]
    public void Tls_secret_yields_certificate_with_key_and_a_server_context()
    {
        var provider = Load(out var problems, DevCertificates.ToSecret("s", "ns", TestPki.Server));

        Assert.Empty(problems);
        var cert = provider.GetCertificate(Ref);
        Assert.NotNull(cert);
        Assert.True(cert.HasPrivateKey);
        Assert.Equal(TestPki.Server.Thumbprint, cert.Thumbprint);
        Assert.Empty(provider.GetChain(Ref));
        Assert.Null(provider.GetCaCertificates(Ref));
        Assert.Equal(TestPki.Server.Thumbprint, provider.GetServerContext(Ref)!.TargetCertificate.Thumbprint);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Rsa_and_ecdsa_keys_in_pkcs1_and_pkcs8(bool rsa, bool traditional)
    {
        var cert = rsa ? TestPki.RsaServer : TestPki.Server;
        var provider = Load(out var problems, Secret("s", DevCertificates.ToPem(cert), DevCertificates.KeyToPem(cert, traditional)));

        Assert.Empty(problems);
        Assert.True(provider.GetCertificate(Ref)!.HasPrivateKey);
    }

    [Fact]
    public void Rest_of_tls_crt_is_the_chain_and_ca_crt_the_ca()
    {
        var intermediate = DevCertificates.CreateCa("Intermediate", issuer: TestPki.Ca);
        var leaf = DevCertificates.Issue(intermediate, ["chained.test"]);

        var provider = Load(out var problems, DevCertificates.ToSecret("s", "ns", leaf, TestPki.Ca, [intermediate]));

        Assert.Empty(problems);
        Assert.Equal(leaf.Thumbprint, provider.GetCertificate(Ref)!.Thumbprint);
        Assert.Equal(intermediate.Thumbprint, Assert.Single(provider.GetChain(Ref)).Thumbprint);
        Assert.Equal(TestPki.Ca.Thumbprint, Assert.Single(provider.GetCaCertificates(Ref)!).Thumbprint);
        Assert.Contains(provider.GetServerContext(Ref)!.IntermediateCertificates, c => c.Thumbprint == intermediate.Thumbprint);
    }

    [Fact]
    public void Ca_secret_from_ca_crt_or_from_tls_crt_without_key()
    {
        var caPem = DevCertificates.ToPem(TestPki.Ca) + DevCertificates.ToPem(TestPki.OtherCa);
        var provider = Load(out var problems,
            Secret("from-ca", ca: caPem, type: "Opaque"),
            Secret("from-tls", crt: caPem, type: "Opaque"));

        Assert.Empty(problems);
        foreach (var name in new[] { "from-ca", "from-tls" })
        {
            var reference = new SecretRef("ns", name);
            Assert.Null(provider.GetCertificate(reference));
            Assert.Null(provider.GetServerContext(reference));
            Assert.Equal([TestPki.Ca.Thumbprint, TestPki.OtherCa.Thumbprint], provider.GetCaCertificates(reference)!.Select(c => c.Thumbprint));
        }
    }

    [Fact]
    public void Key_that_does_not_match_is_an_error_on_tls_key()
    {
        var secret = Secret("s", DevCertificates.ToPem(TestPki.Server), DevCertificates.KeyToPem(TestPki.Client));

        var provider = Load(out var problems, secret);

        var problem = Assert.Single(problems);
        Assert.Equal((Severity.Error, "secret.key-mismatch", "tls.key"), (problem.Severity, problem.Code, problem.Field));
        Assert.Equal(secret.Ref, problem.Resource);
        Assert.Contains("CN=server.test", problem.Message);
        Assert.Null(provider.GetCertificate(Ref));
    }

    [Fact]
    public void Key_of_another_algorithm_is_an_error_not_an_exception()
    {
        var provider = Load(out var problems, Secret("s", DevCertificates.ToPem(TestPki.Server), DevCertificates.KeyToPem(TestPki.RsaServer)));

        var problem = Assert.Single(problems);
        Assert.Equal((Severity.Error, "tls.key"), (problem.Severity, problem.Field));
        Assert.Null(provider.GetCertificate(Ref));
    }

    [Theory]
    [InlineData("not a certificate", "tls.crt", "no PEM certificate")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "tls.crt", "certificate #1 is not a valid X.509")]
    public void Bad_certificate_pem_is_an_error_on_tls_crt(string crt, string field, string expected)
    {
        var provider = Load(out var problems, Secret("s", crt, DevCertificates.KeyToPem(TestPki.Server)));

        var problem = Assert.Single(problems);
        Assert.Equal((Severity.Error, "secret.pem", field), (problem.Severity, problem.Code, problem.Field));
        Assert.Contains(expected, problem.Message);
        Assert.Null(provider.GetCertificate(Ref));
    }

    [Theory]
    [InlineData("garbage", "no PEM private key")]
    [InlineData("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "cannot be read")]
    public void Bad_key_pem_is_an_error_on_tls_key(string key, string expected)
    {
        var provider = Load(out var problems, Secret("s", DevCertificates.ToPem(TestPki.Server), key));

        var problem = Assert.Single(problems);
        Assert.Equal((Severity.Error, "tls.key"), (problem.Severity, problem.Field));
        Assert.Contains(expected, problem.Message);
        Assert.Null(provider.GetCertificate(Ref));
    }

    [Fact]
    public void Expired_and_not_yet_valid_certificates_are_warnings_and_still_served()
    {
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-400));
        var expired = DevCertificates.Issue(TestPki.Ca, ["old.test"], validDays: 10, clock: past);
        var future = DevCertificates.Issue(TestPki.Ca, ["new.test"], clock: new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(30)));

        var provider = Load(out var problems, DevCertificates.ToSecret("old", "ns", expired), DevCertificates.ToSecret("new", "ns", future));

        Assert.Equal(
            [(Severity.Warning, "secret.expired", "tls.crt", "old"), (Severity.Warning, "secret.not-yet-valid", "tls.crt", "new")],
            problems.Select(p => (p.Severity, p.Code, p.Field, p.Resource!.Name)));
        Assert.Contains("Renew", problems[0].Message);
        Assert.NotNull(provider.GetCertificate(new SecretRef("ns", "old")));
        Assert.NotNull(provider.GetCertificate(new SecretRef("ns", "new")));
    }

    [Fact]
    public void Empty_tls_secrets_are_errors_but_unrelated_opaque_secrets_are_ignored()
    {
        var provider = Load(out var problems,
            Secret("empty"),
            Secret("blank", crt: "  ", key: ""),
            Secret("password", type: "Opaque"),
            Secret("key-only", key: DevCertificates.KeyToPem(TestPki.Server)));

        Assert.Equal(
            [("empty", "secret.empty", null), ("blank", "secret.empty", "tls.crt"), ("key-only", "secret.pem", "tls.crt")],
            problems.Select(p => (p.Resource!.Name, p.Code, p.Field)));
        Assert.All(problems, p => Assert.Equal(Severity.Error, p.Severity));
        Assert.Null(provider.GetCertificate(new SecretRef("ns", "key-only")));
    }

    [Fact]
    public void Duplicate_secret_keeps_the_first_with_a_warning()
    {
        var provider = Load(out var problems, DevCertificates.ToSecret("s", "ns", TestPki.Server), DevCertificates.ToSecret("s", "ns", TestPki.RsaServer));

        Assert.Equal("secret.duplicate", Assert.Single(problems).Code);
        Assert.Equal(TestPki.Server.Thumbprint, provider.GetCertificate(Ref)!.Thumbprint);
    }

    [Fact]
    public void Lookups_return_the_same_objects_from_every_thread_and_null_for_unknown_secrets()
    {
        var provider = Load(out _, DevCertificates.ToSecret("s", "ns", TestPki.Server, TestPki.Ca));
        var cert = provider.GetCertificate(Ref);
        var context = provider.GetServerContext(Ref);
        var ca = provider.GetCaCertificates(Ref);

        Parallel.For(0, 2000, _ =>
        {
            Assert.Same(cert, provider.GetCertificate(new SecretRef("ns", "s")));
            Assert.Same(context, provider.GetServerContext(new SecretRef("ns", "s")));
            Assert.Same(ca, provider.GetCaCertificates(new SecretRef("ns", "s")));
        });

        var unknown = new SecretRef("other", "s");
        Assert.Null(provider.GetCertificate(unknown));
        Assert.Null(provider.GetCaCertificates(unknown));
        Assert.Null(provider.GetServerContext(unknown));
        Assert.Empty(provider.GetChain(unknown));
    }
}
