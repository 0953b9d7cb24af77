using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Model.Tests.Compilation;

/// <summary>A mixed input that touches every rule (valid resources, conflicts, errors, ignored ones).</summary>
internal static class Scenario
{
    public static Resource[] Rich() =>
    [
        Res.Module("aaa") with { IdleTimeoutMs = 60000, CircuitBreakers = Res.Breakers(new CircuitBreakerSpec { MaxConnections = 100 }) },
        Res.Module("zzz"),
        new ModuleResource { Name = "tls" },
        Res.TlsSecret("wild"), Res.TlsSecret("exact"), Res.TlsSecret("ctx-cert", "certs"), Res.CaSecret("ca"),
        Res.TlsSecret("broken") with { TlsKey = null },
        Res.Host("wild", "*.example.com", "wild"),
        Res.Host("exact", "db.example.com", "exact"),
        Res.Host("bare", "plain.example.com", null),
        Res.Host("other-id", "*", "exact") with { AmbassadorId = ["other"] },
        Res.Ctx("ctx", "ctx-cert.certs", ["legacy.internal", "*.wild.com"]) with { Tls = new TlsParameters { CaSecret = "ca", CertRequired = true } },
        Res.Ctx("client", null) with { Tls = new TlsParameters { Sni = "inner" } },
        Res.Ctx("bad", "broken"),
        new ResolverResource { Name = "consul-eu", ResolverKind = ResolverKind.Consul, Datacenter = "eu" },
        Res.Listener("tls-9000", 9000, "TLS"),
        Res.Listener("http-8080", 8080, "HTTP"),
        Res.Listener("dup-9000", 9000, "TCP", ns: "zzz"),
        Res.Listener("proxy", 7000, "HTTPSPROXY"),
        Res.Tcp("ssh", 2222, "upstream:22"),
        Res.Tcp("ssh-canary", 2222, "upstream-new:22") with { Weight = 10, Address = "0.0.0.0" },
        Res.Tcp("ssh-bad-idle", 2222, "upstream:22") with { IdleTimeoutMs = 5 },
        Res.Tcp("db", 9000, "https://db-backend", host: "db.example.com") with { Weight = 70 },
        Res.Tcp("db-canary", 9000, "db-backend-v2:5432", host: "DB.example.com", ns: "team") with { Weight = 30, Tls = "client" },
        Res.Tcp("wild", 9000, "wild-backend:1", host: "*.example.com"),
        Res.Tcp("legacy", 9000, "legacy:1", host: "legacy.internal") with { Resolver = "consul-eu" },
        Res.Tcp("raw", 9000, "raw:443"),
        Res.Tcp("nocert", 9000, "x:1", host: "nothing.example.org"),
        Res.Tcp("web", 8080, "web:80"),
        Res.Tcp("proxied", 7000, "p:1"),
        Res.Tcp("mixed-a", 9001, "clear:1"),
        Res.Tcp("mixed-b", 9001, "tls:1", host: "mixed.example.com"),
        Res.Tcp("over", 3000, "o1") with { Weight = 80 },
        Res.Tcp("over2", 3000, "o2") with { Weight = 30 },
        Res.Tcp("v6", 3001, "[fe80::1%25eth0]:22") with { Address = "::1" },
        Res.Tcp("badsvc", 3002, "a:1:2"),
        Res.Tcp("elsewhere", 3003, "up") with { AmbassadorId = ["other"] },
        Res.Tcp("auto", 3004, "up") with { AmbassadorId = ["_automatic_"] },
        Res.Tcp("qualified", 3005, "backend", ns: "team"),
        new ForeignResource { Name = "web", OriginalKind = "Mapping" },
        new InvalidResource { Name = "broken", OriginalKind = "TCPMapping", Errors = [new Diagnostic(Severity.Error, "field.required", "spec.service is required", Field: "spec.service")] },
    ];
}
