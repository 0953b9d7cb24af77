using System.Diagnostics.Metrics;

namespace OrleansGateway.Grains;

/// <summary>
/// The certificate grains' instruments (meter <see cref="MeterName"/>; the gateway exports it on /metrics). Static:
/// grains have no per-silo registration step, and the counts are per process either way.
/// </summary>
public static class CertificateMetrics
{
    public const string MeterName = "OrleansGateway.Certificates";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Reads of a certificate source that left a certificate not Ready; tag <c>state</c>: Unavailable, Refused or NotFound.</summary>
    internal static readonly Counter<long> Problems = Meter.CreateCounter<long>(
        "ogw.certificate.source.problems", "{read}", "Certificate source reads that were unavailable, refused or found nothing");
}
