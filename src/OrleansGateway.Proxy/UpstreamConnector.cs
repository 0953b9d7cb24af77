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

    /// <summary>The upstream's connect timeout, for the resolution and every address together.</summary>
    public static TimeSpan TimeoutOf(UpstreamPlan upstream)
        // The compiler turns `connect_timeout_ms: 0` into an infinite timeout, which the user asked for explicitly.
        => upstream.ConnectTimeout > TimeSpan.Zero || upstream.ConnectTimeout == Timeout.InfiniteTimeSpan
            ? upstream.ConnectTimeout
            : DefaultConnectTimeout;

    /// <summary>
    /// The endpoints to dial in order: an IP literal as written (the family switches are about what a name resolves
    /// to), else the name's endpoints, IPv6 first. A name may resolve to endpoints with ports of their own (Kubernetes
    /// endpoints: a pod's address and target port). A failure says why there are none (<see cref="ConnectResult.Failure"/>).
    /// </summary>
    public static async ValueTask<(IReadOnlyList<IPEndPoint>? EndPoints, ConnectResult Failure)> ResolveAsync(
        UpstreamPlan upstream, IPAddress[]? literalAddresses, ProxyRuntime runtime, TimeSpan timeout, CancellationToken token)
    {
        var target = upstream.Target;
        if (literalAddresses is not null)
        {
            return ([.. literalAddresses.Select(a => new IPEndPoint(a, target.Port))], default);
        }

        IPEndPoint[] resolved;
        try
        {
            resolved = await runtime.Resolver.ResolveEndpointsAsync(target, upstream.Resolver, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return (null, ResolveTimedOut(upstream, timeout));
        }
        catch (Exception e)
        {
            return (null, Fail(CloseReason.ResolveFailed, $"{target.Host} does not resolve: {e.Message}"));
        }

        var ordered = Order(resolved, upstream.EnableIpv4, upstream.EnableIpv6);
        return ordered.Count > 0
            ? (ordered, default)
            : (null, Fail(CloseReason.ResolveFailed,
                $"{target.Host} has no usable address (enable_ipv4={upstream.EnableIpv4}, enable_ipv6={upstream.EnableIpv6}, resolved: {string.Join(", ", resolved.Select(a => a.ToString()))})"));
    }

    public static ConnectResult ResolveTimedOut(UpstreamPlan upstream, TimeSpan timeout)
        => Fail(CloseReason.ConnectTimeout, $"resolving {upstream.Target.Host} took longer than the connect timeout {timeout}");

    public static ConnectResult TimedOut(IPEndPoint endPoint, TimeSpan timeout)
        => Fail(CloseReason.ConnectTimeout, $"{endPoint} did not accept within the connect timeout {timeout}");

    /// <summary>
    /// Whether <paramref name="endPoint"/> may be dialled (<see cref="UpstreamGuard"/>, which logs a refusal with the
    /// mapping and tenant); a refusal is recorded in <paramref name="failures"/>.
    /// </summary>
    public static bool Admissible(UpstreamPlan upstream, IPEndPoint endPoint, ProxyRuntime runtime, ref DialFailures failures)
    {
        if (runtime.Guard.Refusal(upstream, endPoint) is null)
        {
            return true;
        }

        failures.Add(CloseReason.UpstreamForbidden, endPoint, "forbidden");
        return false;
    }

    public static async Task<ConnectResult> ConnectAsync(UpstreamPlan upstream, IPAddress[]? literalAddresses, ProxyRuntime runtime)
    {
        var timeout = TimeoutOf(upstream);

        // The attempts share what is left of the one timeout that began here, resolution included (as the native
        // engine counts it): a budget counted from after resolution could outlast the overall timeout.
        var started = runtime.Time.GetTimestamp();
        using var timeoutCts = new CancellationTokenSource(timeout, runtime.Time);
        var token = timeoutCts.Token;
        var (ordered, resolveFailure) = await ResolveAsync(upstream, literalAddresses, runtime, timeout, token).ConfigureAwait(false);
        if (ordered is null)
        {
            return resolveFailure;
        }

        var failures = new DialFailures();
        for (var i = 0; i < ordered.Count; i++)
        {
            var endPoint = ordered[i];
            if (!Admissible(upstream, endPoint, runtime, ref failures))
            {
                continue;
            }

            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            runtime.Options.KeepAlive?.Apply(socket);
            var budget = AttemptBudget(timeout, runtime.Time.GetElapsedTime(started), ordered.Count - i);
            using var attemptTimeout = budget is { } b ? new CancellationTokenSource(b, runtime.Time) : null;
            using var attempt = attemptTimeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(token, attemptTimeout.Token);
            try
            {
                await socket.ConnectAsync(endPoint, attempt?.Token ?? token).ConfigureAwait(false);
                return new ConnectResult(socket, endPoint, default, null);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                socket.Dispose();
                return TimedOut(endPoint, timeout);
            }
            catch (OperationCanceledException) when (attemptTimeout?.IsCancellationRequested == true)
            {
                socket.Dispose();
                failures.Add(CloseReason.ConnectTimeout, endPoint, "no answer");
            }
            catch (SocketException e)
            {
                socket.Dispose();
                failures.Failed(endPoint, e.SocketErrorCode);
            }
        }

        return failures.Result;
    }

    /// <summary>
    /// The deadline of one attempt while <paramref name="addressesLeft"/> addresses (this one included) remain: its
    /// fair part of what is left of the timeout, so an IPv6 address that swallows SYNs still leaves time for the IPv4
    /// fallback. Null for the last address (the overall timeout bounds it).
    /// </summary>
    public static TimeSpan? AttemptBudget(TimeSpan timeout, TimeSpan elapsed, int addressesLeft)
    {
        if (addressesLeft <= 1 || timeout == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        var remaining = timeout - elapsed;
        return remaining <= TimeSpan.Zero ? null : remaining / addressesLeft;
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

/// <summary>What the failed attempts of one dial say: the last attempt's reason and every attempt's detail.</summary>
internal struct DialFailures
{
    private CloseReason _failure;
    private string? _detail;

    public DialFailures() => _failure = CloseReason.UpstreamRefused;

    public readonly ConnectResult Result => new(null, null, _failure, _detail);

    public void Add(CloseReason failure, IPEndPoint endPoint, string what)
    {
        _failure = failure;
        _detail = _detail is null ? $"{endPoint}: {what}" : $"{_detail}; {endPoint}: {what}";
    }

    /// <summary>The connect itself failed: refused, else unreachable.</summary>
    public void Failed(IPEndPoint endPoint, SocketError error)
        => Add(error == SocketError.ConnectionRefused ? CloseReason.UpstreamRefused : CloseReason.UpstreamUnreachable, endPoint, error.ToString());
}
