using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using OrleansGateway.Certificates.Development;
using OrleansGateway.Proxy;

namespace OrleansGateway.Bench.Scale;

/// <summary>The shapes the issue asks for: many SNI hosts on one TLS port, many cleartext ports, and both at once.</summary>
internal enum WorkloadKind
{
    Sni,
    Ports,
    Mixed,
}

/// <summary>
/// One generated configuration as YAML text, the way a user would write it: TLS-terminating TCPMappings with
/// distinct SNI hosts on one port (certificates from one wildcard Host plus a few exact Hosts with their own
/// Secrets) and/or cleartext TCPMappings, one per port. Every mapping goes to <c>upstream</c>.
/// </summary>
internal sealed record Workload(WorkloadKind Kind, int SniMappings, int TlsPort, IReadOnlyList<int> CleartextPorts, string Yaml)
{
    public const string Domain = "scale.test";

    /// <summary>Exact Hosts (each with its own Secret) among the SNI names; the rest use the wildcard Host.</summary>
    public const int ExactHosts = 10;

    public int Mappings => SniMappings + CleartextPorts.Count;

    /// <summary>
    /// The SNI name of mapping <paramref name="i"/>: three labels under <see cref="Domain"/>, so the wildcard Host
    /// <c>*.scale.test</c> covers it several labels deep and the data plane's wildcard walk has work to do.
    /// </summary>
    public static string SniHost(int i) => string.Create(CultureInfo.InvariantCulture, $"app-{i}.zone-{i % 100}.{Domain}");

    public static string SniMappingName(int i) => string.Create(CultureInfo.InvariantCulture, $"sni-{i:D5}");

    public static string PortMappingName(int i) => string.Create(CultureInfo.InvariantCulture, $"tcp-{i:D5}");

    public static Workload Create(WorkloadKind kind, int sniMappings, int tlsPort, IReadOnlyList<int> cleartextPorts, string upstream, Certificates certificates)
    {
        var sni = kind == WorkloadKind.Ports ? 0 : sniMappings;
        var ports = kind == WorkloadKind.Sni ? [] : cleartextPorts;
        var yaml = new StringBuilder(256 * (sni + ports.Count) + 64 * 1024);
        if (sni > 0)
        {
            AppendSecret(yaml, "wildcard-cert", certificates.Wildcard);
            AppendHost(yaml, "wildcard", "*." + Domain, "wildcard-cert");
            for (var i = 0; i < Math.Min(ExactHosts, sni); i++)
            {
                AppendSecret(yaml, $"exact-cert-{i}", certificates.Exact[i]);
                AppendHost(yaml, $"exact-{i}", SniHost(i), $"exact-cert-{i}");
            }
        }

        for (var i = 0; i < sni; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: getambassador.io/v3alpha1
                kind: TCPMapping
                metadata:
                  name: {SniMappingName(i)}
                  namespace: default
                spec:
                  address: 127.0.0.1
                  port: {tlsPort}
                  host: {SniHost(i)}
                  service: {upstream}

                """);
        }

        for (var i = 0; i < ports.Count; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: getambassador.io/v3alpha1
                kind: TCPMapping
                metadata:
                  name: {PortMappingName(i)}
                  namespace: default
                spec:
                  address: 127.0.0.1
                  port: {ports[i]}
                  service: {upstream}

                """);
        }

        return new Workload(kind, sni, tlsPort, ports, yaml.ToString());
    }

    private static void AppendSecret(StringBuilder yaml, string name, X509Certificate2 cert)
    {
        static string Indent(string pem) => string.Join("\n", pem.TrimEnd('\n').Split('\n').Select(l => "    " + l));
        yaml.Append(CultureInfo.InvariantCulture, $"""
            ---
            apiVersion: v1
            kind: Secret
            metadata:
              name: {name}
              namespace: default
            type: kubernetes.io/tls
            stringData:
              tls.crt: |
            {Indent(DevCertificates.ToPem(cert))}
              tls.key: |
            {Indent(DevCertificates.KeyToPem(cert))}

            """);
    }

    private static void AppendHost(StringBuilder yaml, string name, string hostname, string secret) =>
        yaml.Append(CultureInfo.InvariantCulture, $"""
            ---
            apiVersion: getambassador.io/v3alpha1
            kind: Host
            metadata:
              name: {name}
              namespace: default
            spec:
              hostname: "{hostname}"
              tlsSecret:
                name: {secret}

            """);
}

/// <summary>The certificates of a run: made once, shared by every run (making keys is not what is measured).</summary>
internal sealed class Certificates : IDisposable
{
    public Certificates()
    {
        Wildcard = DevCertificates.CreateSelfSignedServer(["*." + Workload.Domain]);
        Exact = [.. Enumerable.Range(0, Workload.ExactHosts).Select(i => DevCertificates.CreateSelfSignedServer([Workload.SniHost(i)]))];
    }

    public X509Certificate2 Wildcard { get; }

    public IReadOnlyList<X509Certificate2> Exact { get; }

    public void Dispose()
    {
        Wildcard.Dispose();
        foreach (var cert in Exact)
        {
            cert.Dispose();
        }
    }
}
