using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansGateway.Model.Diagnostics;
using OrleansGateway.Model.Plan;
using OrleansGateway.Model.Resources;

namespace OrleansGateway.Reporting;

// The JSON contract of `ogw check --output json` and of the gateway's `GET /status`. Field order is the declaration
// order below: scripts and golden files may rely on it, so append fields, never reorder them.

public sealed record SourceReport(string File, int Document, int Line);

public sealed record ResourceReport(
    string Kind, string Name, string Namespace, string Status, ImmutableArray<string> Messages, SourceReport? Source);

/// <param name="Share">The compiled share (percentage of connections, <see cref="UpstreamPlan.Share"/>); its JSON field has been
/// <c>weight</c> since the first release and stays so.</param>
public sealed record UpstreamReport(
    string Mapping,
    string Service,
    [property: JsonPropertyName("weight")] double Share,
    bool OriginateTls,
    string? Sni,
    long? IdleTimeoutMs,
    long ConnectTimeoutMs);

/// <param name="Host">Null for the host-less catch-all.</param>
/// <param name="CertificateSource"><c>Host ns/name</c> or <c>TLSContext ns/name</c>; null when TLS is not terminated.</param>
public sealed record RouteReport(string? Host, string? CertificateSource, ImmutableArray<UpstreamReport> Upstreams)
{
    /// <summary>An SNI route relayed unterminated (annotation <c>orleansgateway.io/tls-passthrough</c>); no certificate source. Written only when true.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Passthrough { get; init; }
}

/// <param name="Tls">Whether the listener inspects TLS (routes by SNI).</param>
public sealed record ListenerReport(string Address, int Port, bool Tls, string Name, string StatsPrefix, ImmutableArray<RouteReport> Routes);

/// <summary>A listener as the gateway serves it: <see cref="ListenerReport"/> plus whether it is bound.</summary>
public sealed record BoundListenerReport(
    string Address, int Port, bool Tls, string Name, string StatsPrefix, ImmutableArray<RouteReport> Routes, bool Bound, string? Error);

public sealed record DiagnosticReport(
    string Severity, string Code, string Message, string? File, int? Document, int? Line, string? Field, string? Resource);

public sealed record CheckReport(
    string AmbassadorId, ImmutableArray<ResourceReport> Resources, ImmutableArray<ListenerReport> Listeners, ImmutableArray<DiagnosticReport> Diagnostics);

public sealed record StatusReport(
    long Generation,
    string AmbassadorId,
    ImmutableArray<ResourceReport> Resources,
    ImmutableArray<BoundListenerReport> Listeners,
    ImmutableArray<DiagnosticReport> Diagnostics);

public static class GatewayReport
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static CheckReport ForCheck(ConfigEvaluation evaluation) => new(
        evaluation.AmbassadorId,
        Resources(evaluation.Statuses),
        [.. evaluation.Plan.Listeners.Select(Listener)],
        [.. evaluation.Diagnostics.Select(Diagnostic)]);

    /// <param name="statuses">The evaluation's statuses with the bind results folded in.</param>
    public static StatusReport ForStatus(long generation, ConfigEvaluation evaluation, ImmutableArray<ResourceStatus> statuses, ApplyResult? apply)
    {
        var listeners = evaluation.Plan.Listeners.Select(plan =>
        {
            var l = Listener(plan);
            var bind = apply?.Listeners.FirstOrDefault(b => b.Endpoint == plan.Endpoint);
            return new BoundListenerReport(
                l.Address, l.Port, l.Tls, l.Name, l.StatsPrefix, l.Routes, bind?.Bound ?? false, bind is null ? "not applied yet" : bind.Error);
        });
        return new StatusReport(
            generation, evaluation.AmbassadorId, Resources(statuses), [.. listeners], [.. evaluation.Diagnostics.Select(Diagnostic)]);
    }

    public static string Describe(ResourceRef resource) => $"{resource.Kind} {resource.Namespace}/{resource.Name}";

    private static ImmutableArray<ResourceReport> Resources(ImmutableArray<ResourceStatus> statuses) =>
    [
        .. statuses.Select(s => new ResourceReport(
            s.Resource.Kind,
            s.Resource.Name,
            s.Resource.Namespace,
            s.State.ToString(),
            s.Messages,
            s.Source is null ? null : new SourceReport(s.Source.File, s.Source.DocumentIndex, s.Source.Line))),
    ];

    private static ListenerReport Listener(ListenerPlan plan)
    {
        var routes = plan.SniRoutes
            .Select(r => Route(r.Host.Text, r.Termination is null ? null : Describe(r.Termination.CertificateSource), r.Route) with { Passthrough = r.Passthrough })
            .ToList();
        if (plan.CatchAll is not null)
        {
            routes.Add(Route(null, null, plan.CatchAll));
        }

        return new ListenerReport(plan.Endpoint.Address, plan.Endpoint.Port, plan.TlsInspected, plan.Name, plan.StatsPrefix, [.. routes]);
    }

    private static RouteReport Route(string? host, string? certificateSource, RoutePlan route) => new(
        host,
        certificateSource,
        [
            .. route.Upstreams.Select(u => new UpstreamReport(
                $"{u.Mapping.Namespace}/{u.Mapping.Name}",
                u.Service,
                Math.Round(u.Share, 3),
                u.Origination is not null,
                u.Origination?.Sni,
                // 0: none (idle_timeout_ms: 0); null: unset, the gateway's default idle timeout applies.
                u.IdleTimeout is { } idle ? Math.Max(0, (long)idle.TotalMilliseconds) : null,
                (long)u.ConnectTimeout.TotalMilliseconds)),
        ]);

    /// <summary>One diagnostic in the JSON shape of <c>ogw check</c> (also the API's).</summary>
    public static DiagnosticReport Diagnostic(Diagnostic d) => new(
        d.Severity.ToString().ToLowerInvariant(),
        d.Code,
        d.Message,
        d.Source?.File,
        d.Source?.DocumentIndex,
        d.Source?.Line,
        d.Field,
        d.Resource is null ? null : Describe(d.Resource));
}
