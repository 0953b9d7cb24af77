using System.Net;
using System.Net.Sockets;
using OrleansGateway.Model.Plan;

namespace OrleansGateway.Proxy;

/// <summary>The outcome of dialling an upstream: a connected socket, or why there is none.</summary>
internal readonly record struct ConnectResult(Socket? Socket, IPEndPoint? EndPoint, CloseReason Failure, string? Detail);

/// <summary>
/// Resolves and dials one upstream: an IP literal is used as is; a name is resolved, filtered by enable_ipv4 /
/// enable_ipv6, and its addresses are tried IPv6 first, then IPv4, all within the upstream's connect timeout.
/// </summary>
internal static class UpstreamConnector
{
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The address of an IP-literal target, parsed once per plan apply; null for a name to resolve.</summary>
    public static IPAddress[]? LiteralAddresses(ServiceAddress target)
        => target.IsIpLiteral && IPAddress.TryParse(target.Host, out var literal) ? [literal] : null;

    public static async Task<ConnectResult> ConnectAsync(UpstreamPlan upstream, IPAddress[]? literalAddresses, ProxyRuntime runtime)
    {
        // The compiler turns `connect_timeout_ms: 0` into an infinite timeout, which the user asked for explicitly.
        var timeout = upstream.ConnectTimeout > TimeSpan.Zero || upstream.ConnectTimeout == Timeout.InfiniteTimeSpan
            ? upstream.ConnectTimeout
            : DefaultConnectTimeout;
        using var timeoutCts = new CancellationTokenSource(timeout, runtime.Time);
        var token = timeoutCts.Token;
        var target = upstream.Target;

        // An IP literal is used as written: the family switches are about what a name resolves to. A name may resolve to
        // endpoints with ports of their own (Kubernetes endpoints: a pod's address and target port).
        IReadOnlyList<IPEndPoint> ordered;
        if (literalAddresses is not null)
        {
            ordered = [.. literalAddresses.Select(a => new IPEndPoint(a, target.Port))];
        }
        else
        {
            IPEndPoint[] resolved;
            try
            {
                resolved = await runtime.Resolver.ResolveEndpointsAsync(target, upstream.Resolver, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return Fail(CloseReason.ConnectTimeout, $"resolving {target.Host} took longer than the connect timeout {timeout}");
            }
            catch (Exception e)
            {
                return Fail(CloseReason.ResolveFailed, $"{target.Host} does not resolve: {e.Message}");
            }

            ordered = Order(resolved, upstream.EnableIpv4, upstream.EnableIpv6);
            if (ordered.Count == 0)
            {
                return Fail(CloseReason.ResolveFailed,
                    $"{target.Host} has no usable address (enable_ipv4={upstream.EnableIpv4}, enable_ipv6={upstream.EnableIpv6}, resolved: {string.Join(", ", resolved.Select(a => a.ToString()))})");
            }
        }

        var failure = CloseReason.UpstreamRefused;
        string? detail = null;
        var started = runtime.Time.GetTimestamp();
        for (var i = 0; i < ordered.Count; i++)
        {
            var endPoint = ordered[i];
            if (runtime.Guard.Refusal(endPoint) is { } why)
            {
                ProxyLog.UpstreamForbidden(runtime.Log, $"{upstream.Mapping.Namespace}/{upstream.Mapping.Name}", upstream.Tenant, endPoint.ToString(), why);
                failure = CloseReason.UpstreamForbidden;
                detail = detail is null ? $"{endPoint}: forbidden" : $"{detail}; {endPoint}: forbidden";
                continue;
            }

            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

            // While other addresses are left, one attempt gets only its fair part of what remains of the timeout, so
            // an IPv6 address that swallows SYNs still leaves time for the IPv4 fallback (docs/data-plane.md, "Dial").
            using var attemptTimeout = AttemptTimeout(timeout, runtime.Time.GetElapsedTime(started), ordered.Count - i, runtime.Time);
            using var attempt = attemptTimeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(token, attemptTimeout.Token);
            try
            {
                await socket.ConnectAsync(endPoint, attempt?.Token ?? token).ConfigureAwait(false);
                return new ConnectResult(socket, endPoint, default, null);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                socket.Dispose();
                return Fail(CloseReason.ConnectTimeout, $"{endPoint} did not accept within the connect timeout {timeout}");
            }
            catch (OperationCanceledException) when (attemptTimeout?.IsCancellationRequested == true)
            {
                socket.Dispose();
                failure = CloseReason.ConnectTimeout;
                detail = detail is null ? $"{endPoint}: no answer" : $"{detail}; {endPoint}: no answer";
            }
            catch (SocketException e)
            {
                socket.Dispose();
                failure = e.SocketErrorCode == SocketError.ConnectionRefused ? CloseReason.UpstreamRefused : CloseReason.UpstreamUnreachable;
                detail = detail is null ? $"{endPoint}: {e.SocketErrorCode}" : $"{detail}; {endPoint}: {e.SocketErrorCode}";
            }
        }

        return Fail(failure, detail);
    }

    /// <summary>The extra deadline of one attempt while <paramref name="addressesLeft"/> addresses (this one included) remain; null for the last one.</summary>
    private static CancellationTokenSource? AttemptTimeout(TimeSpan timeout, TimeSpan elapsed, int addressesLeft, TimeProvider time)
    {
        if (addressesLeft <= 1 || timeout == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        var remaining = timeout - elapsed;
        return remaining <= TimeSpan.Zero ? null : new CancellationTokenSource(remaining / addressesLeft, time);
    }

    /// <summary>IPv6 first, then IPv4, each in resolver order; families that are switched off are dropped.</summary>
    internal static List<IPAddress> Order(IPAddress[] addresses, bool enableIpv4, bool enableIpv6)
        => [.. Order([.. addresses.Select(a => new IPEndPoint(a, 0))], enableIpv4, enableIpv6).Select(e => e.Address)];

    /// <summary>The same order for endpoints (an IPv4-mapped address is dialled as IPv4 at its own port).</summary>
    internal static List<IPEndPoint> Order(IPEndPoint[] endpoints, bool enableIpv4, bool enableIpv6)
    {
        var ordered = new List<IPEndPoint>(endpoints.Length);
        if (enableIpv6)
        {
            ordered.AddRange(endpoints.Where(e => e.AddressFamily == AddressFamily.InterNetworkV6 && !e.Address.IsIPv4MappedToIPv6));
        }

        if (enableIpv4)
        {
            ordered.AddRange(endpoints.Where(e => e.AddressFamily == AddressFamily.InterNetwork).Concat(
                endpoints.Where(e => e.Address.IsIPv4MappedToIPv6).Select(e => new IPEndPoint(e.Address.MapToIPv4(), e.Port))));
        }

        return ordered;
    }

    private static ConnectResult Fail(CloseReason reason, string? detail) => new(null, null, reason, detail);
}
