using System.Diagnostics;
using System.Diagnostics.Metrics;
using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Proxy;

/// <summary>
/// The data plane's instruments (meter <see cref="ProxyServer.MeterName"/>). Tags: <c>listener</c> (the listener's
/// stats prefix), <c>mapping</c> (the upstream's stats name) where known, plus <c>direction</c>, <c>reason</c> or
/// <c>side</c> where they say which.
/// </summary>
internal sealed class ProxyMetrics : IDisposable
{
    private readonly Meter _meter;

    public ProxyMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(new MeterOptions(ProxyServer.MeterName)) ?? new Meter(ProxyServer.MeterName);
        Active = _meter.CreateUpDownCounter<long>("ogw.proxy.connections.active", "{connection}", "Client connections currently open");
        Connections = _meter.CreateCounter<long>("ogw.proxy.connections", "{connection}", "Client connections accepted");
        Closed = _meter.CreateCounter<long>("ogw.proxy.connections.closed", "{connection}", "Client connections closed, by close reason");
        Bytes = _meter.CreateCounter<long>("ogw.proxy.bytes", "By", "Bytes relayed; direction=upstream (client to upstream) or downstream");
        HandshakeFailures = _meter.CreateCounter<long>("ogw.proxy.handshake.failures", "{handshake}", "Failed or timed-out TLS handshakes; side=client or upstream");
        BreakerOverflows = _meter.CreateCounter<long>("ogw.proxy.circuit_breaker.overflows", "{connection}", "Connections refused because a circuit breaker was full");
        ConnectFailures = _meter.CreateCounter<long>("ogw.proxy.upstream.connect_failures", "{connection}", "Upstream connections that could not be made, by reason");
        IdleTimeouts = _meter.CreateCounter<long>("ogw.proxy.idle_timeouts", "{connection}", "Connections closed by the idle timeout");
        NoRoute = _meter.CreateCounter<long>("ogw.proxy.no_route", "{connection}", "Connections closed because no route takes them");
        QuotaRefusals = _meter.CreateCounter<long>("ogw.proxy.quota_refusals", "{connection}", "Connections refused because their tenant was at its concurrent-connection limit; tag tenant");
        LimitRefusals = _meter.CreateCounter<long>("ogw.proxy.connection_refusals", "{connection}",
            "Connections refused at accept by a connection limit of this edge; reason=max_connections, max_connections_per_listener, max_connections_per_source or max_tls_handshakes");
        Duration = _meter.CreateHistogram<double>("ogw.proxy.connection.duration", "s", "Lifetime of proxied client connections");
        AcceptErrors = _meter.CreateCounter<long>("ogw.proxy.accept_errors", "{error}", "Errors of the accept loop (e.g. out of file descriptors)");
        Ejections = _meter.CreateCounter<long>("ogw.proxy.outlier.ejections", "{ejection}",
            "Canary members ejected by outlier detection (connection attempts failed in a row, or a failed health check)");
        Ejected = _meter.CreateUpDownCounter<long>("ogw.proxy.outlier.ejected", "{member}", "Canary members ejected now");
    }

    public UpDownCounter<long> Active { get; }
    public Counter<long> Connections { get; }
    public Counter<long> Closed { get; }
    public Counter<long> Bytes { get; }
    public Counter<long> HandshakeFailures { get; }
    public Counter<long> BreakerOverflows { get; }
    public Counter<long> ConnectFailures { get; }
    public Counter<long> IdleTimeouts { get; }
    public Counter<long> NoRoute { get; }
    public Counter<long> QuotaRefusals { get; }
    public Counter<long> LimitRefusals { get; }
    public Histogram<double> Duration { get; }
    public Counter<long> AcceptErrors { get; }
    public Counter<long> Ejections { get; }
    public UpDownCounter<long> Ejected { get; }

    /// <summary>Adds <paramref name="count"/> bytes relayed from <paramref name="from"/> to <c>ogw.proxy.bytes</c>.</summary>
    public void AddBytes(UpstreamEntry upstream, Peer from, long count)
        => Bytes.Add(count, from == Peer.Client ? upstream.BytesUpTags : upstream.BytesDownTags);

    /// <remarks>Tag values are the tenants' (stats names, tenant names): escaped and cut to <see cref="LogText.MaxTagLength"/>.</remarks>
    public static TagList Tags(string listener, string? mapping)
    {
        var tags = new TagList { { "listener", LogText.Tag(listener) } };
        if (mapping is not null)
        {
            tags.Add("mapping", LogText.Tag(mapping));
        }

        return tags;
    }

    public static TagList With(TagList tags, string key, string value)
    {
        tags.Add(key, LogText.Tag(value));
        return tags;
    }

    public void Dispose() => _meter.Dispose();
}
