using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>The one query for the Secrets a plan uses (edge fetch, data-plane TLS, certificate sources).</summary>
public sealed class PlanSecretsTests
{
    [Fact]
    public void Every_secret_a_plan_uses_is_listed_with_its_use()
    {
        var front = Res.Ctx("front", "front-cert", ["db.example.com"]) with { Tls = new TlsParameters { CaSecret = "front-ca" } };
        var client = Res.Ctx("client", "client-cert") with { Tls = new TlsParameters { CaSecret = "up-ca" } };
        var sni = Res.Tcp("sni", 443, "up.example.com", host: "db.example.com") with { Tls = "client" };
        var plain = Res.Tcp("plain", 2222, "up:22");

        var result = Res.Compile(front, client, sni, plain,
            Res.TlsSecret("front-cert"), Res.CaSecret("front-ca"), Res.TlsSecret("client-cert"), Res.CaSecret("up-ca"));

        Assert.Equal(
            [
                (new SecretRef("default", "front-cert"), SecretUsage.ServingCertificate),
                (new SecretRef("default", "front-ca"), SecretUsage.ClientCa),
                (new SecretRef("default", "client-cert"), SecretUsage.ClientCertificate),
                (new SecretRef("default", "up-ca"), SecretUsage.TrustedCa),
            ],
            result.Plan.SecretUses().Select(u => (u.Secret, u.Usage)));
        Assert.Empty(result.Listener(2222).SecretUses());
        Assert.True(result.Plan.SecretUses().Secrets(withKeyOnly: true)
            .SetEquals([new SecretRef("default", "front-cert"), new SecretRef("default", "client-cert")]));
    }

    [Fact]
    public void A_secret_used_twice_is_one_secret()
    {
        var ctx = Res.Ctx("ctx", "cert", ["a.example.com", "b.example.com"]);
        var a = Res.Tcp("a", 443, "up:1", host: "a.example.com");
        var b = Res.Tcp("b", 443, "up:1", host: "b.example.com");

        var plan = Res.Compile(ctx, a, b, Res.TlsSecret("cert")).Plan;

        Assert.Equal(2, plan.SecretUses().Count());
        Assert.Equal([new SecretRef("default", "cert")], plan.SecretUses().Secrets());
    }
}
