using OrleansGateway.Grains.Abstractions;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Grains.Tests;

/// <summary>The overlap rule of SNI names between tenants, as a table (the cluster tests prove it end to end).</summary>
public sealed class ArbitrationRuleTests
{
    [Theory]
    [InlineData("a.example.com", "a.example.com", true)]
    [InlineData("a.example.com", "A.Example.com", true)]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "x.y.example.com", true)]
    [InlineData("*.example.com", "*.a.example.com", true)]
    [InlineData("*.example.com", "*.example.com", true)]
    [InlineData("*", "a.example.com", true)]
    [InlineData("*", "*.example.com", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "a.example.org", false)]
    [InlineData("*.example.com", "*.example.org", false)]
    [InlineData("*.example.com", "aexample.com", false)]
    [InlineData("a.example.com", "b.example.com", false)]
    public void Overlap_is_symmetric_and_covers_globs(string a, string b, bool overlaps)
    {
        Assert.Equal(overlaps, ListenerArbiter.Overlaps(a, b));
        Assert.Equal(overlaps, ListenerArbiter.Overlaps(b, a));
    }

    [Theory]
    [InlineData("default", "0.0.0.0", 8443, "default/0.0.0.0:8443")]
    [InlineData("edge-b", "::", 22, "edge-b/[::]:22")]
    [InlineData("x", "fe80::1", 65535, "x/[fe80::1]:65535")]
    public void Listener_keys_round_trip(string ambassadorId, string address, int port, string expected)
    {
        var key = ListenerKey.For(ambassadorId, new ListenerEndpoint(address, port));
        Assert.Equal(expected, key.Value);
        Assert.Equal(key, ListenerKey.Parse(key.Value));
    }

    [Theory]
    [InlineData("no-slash:80")]
    [InlineData("id/0.0.0.0")]
    [InlineData("id/0.0.0.0:http")]
    [InlineData("/0.0.0.0:80")]
    public void Malformed_listener_keys_are_refused(string key) => Assert.Throws<FormatException>(() => ListenerKey.Parse(key));

    [Fact]
    public void Certificate_keys_carry_the_tenant_and_round_trip()
    {
        var secret = new SecretRef("ns", "tls") { Tenant = "tenant-a" };
        Assert.Equal("tenant-a/ns/tls", CertificateKey.For(secret));
        Assert.Equal(secret, CertificateKey.Parse(CertificateKey.For(secret)));
        Assert.NotEqual(secret, secret with { Tenant = "tenant-b" });
        Assert.Throws<ArgumentException>(() => CertificateKey.For(secret with { Tenant = "a/b" }));
    }
}
