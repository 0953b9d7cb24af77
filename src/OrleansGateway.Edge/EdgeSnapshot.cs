using System.Collections.Immutable;
using OrleansGateway.Certificates;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy;

namespace OrleansGateway.Edge;

/// <summary>
/// What an edge serves: the merged plan of every listener of its ambassador id and the certificates of every tenant,
/// at one directory version. Immutable; handed whole to the data plane (<c>ProxyServer.ApplyAsync</c>).
/// </summary>
/// <param name="CertificateProblems">Secrets that could not be read (they are left out, their routes fail handshakes).</param>
public sealed record EdgeSnapshot(
    long DirectoryVersion,
    GatewayPlan Plan,
    ICertificateProvider Certificates,
    ImmutableArray<Diagnostic> CertificateProblems);
