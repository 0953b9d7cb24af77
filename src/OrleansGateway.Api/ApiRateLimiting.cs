using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using OrleansGateway.Grains.Abstractions;

namespace OrleansGateway.Api;

/// <summary>
/// Requests per second under <c>/api/v1</c>: per key (<c>--api-rate-limit</c>) and per client address
/// (<c>--api-rate-limit-per-source</c>); 0 turns a limit off. Each is a token bucket that holds one second's worth,
/// so a client may burst that many requests and then keeps to the rate.
/// </summary>
public sealed record ApiRateLimits(int PerKey = ApiRateLimits.DefaultPerKey, int PerSource = ApiRateLimits.DefaultPerSource)
{
    public const int DefaultPerKey = 20;
    public const int DefaultPerSource = 100;
}

/// <summary>
/// The API's rate limiting (docs/api.md "Rate limits"). It runs before authentication, so a flood costs no grain call:
/// the per-key partition is the key id a tenant token claims (<c>ogw.&lt;tenant&gt;.&lt;keyId&gt;.…</c>), checked or
/// not; the admin key is not limited per key (the operator's own), and anything else is limited by its address only.
/// Over a limit: 429 with <c>Retry-After</c> and a problem naming the option that sets it.
/// </summary>
internal static class ApiRateLimiting
{
    public static void AddApiRateLimiting(this IServiceCollection services) => services.AddSingleton(provider =>
    {
        // The API's options may be known only once the host has started (an admin key read from Key Vault), so they are
        // read when a request comes, never while the limiter is made.
        ApiOptions Api() => provider.GetRequiredService<ApiOptions>();
        var time = provider.GetService<TimeProvider>() ?? TimeProvider.System;
        return new ApiRateLimiter(
            PartitionedRateLimiter.CreateChained(
                new TokenBuckets(
                    c =>
                    {
                        var limits = Api().RateLimits;
                        return (IsApi(c) && limits.PerSource > 0 ? "source:" + (c.Connection.RemoteIpAddress?.ToString() ?? "unknown") : null, limits.PerSource);
                    },
                    time),
                new TokenBuckets(
                    c =>
                    {
                        var api = Api();
                        return (IsApi(c) && api.RateLimits.PerKey > 0 ? KeyOf(c, api.AdminKey) : null, api.RateLimits.PerKey);
                    },
                    time)),
            () => Api().RateLimits);
    });

    /// <summary>
    /// Takes a request's tokens before anything else runs, or answers 429. A middleware of its own rather than ASP.NET
    /// Core's <c>UseRateLimiter</c>: that one always makes a partitioned limiter for endpoint policies, with a 100 ms
    /// timer, even when no endpoint has a policy (quiet when idle; <see cref="TokenBuckets"/>).
    /// </summary>
    public static void UseApiRateLimiting(this IApplicationBuilder app)
    {
        var limiter = app.ApplicationServices.GetRequiredService<ApiRateLimiter>();
        app.Use(async (context, next) =>
        {
            using var lease = limiter.Limiter.AttemptAcquire(context);
            if (lease.IsAcquired)
            {
                await next(context);
            }
            else
            {
                await RejectAsync(context, lease, limiter.Limits());
            }
        });
    }

    private static bool IsApi(HttpContext context) => context.Request.Path.StartsWithSegments(ApiSetup.Prefix);

    /// <summary>"key:&lt;tenant&gt;.&lt;keyId&gt;" of a well-formed tenant token; null for the admin key, no key or anything else.</summary>
    private static string? KeyOf(HttpContext context, AdminKey? admin)
    {
        string? header = context.Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var key = header[7..].Trim();
        if (admin?.Matches(key) == true || !ApiToken.TryParse(key, out var tenant, out var keyId, out _))
        {
            return null;
        }

        return $"key:{tenant}.{keyId}";
    }

    private static async Task RejectAsync(HttpContext context, RateLimitLease lease, ApiRateLimits limits)
    {
        var seconds = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await ApiProblems.Problem(
            429,
            "Too many requests",
            $"this key or address sent more requests than the gateway takes ({limits.PerKey} per second per key, --api-rate-limit; " +
            $"{limits.PerSource} per second per address, --api-rate-limit-per-source); retry after {seconds} s").ExecuteAsync(context);
    }

    /// <summary>The chained per-address and per-key buckets, and the limits as the API's options say (for the 429's detail).</summary>
    private sealed record ApiRateLimiter(PartitionedRateLimiter<HttpContext> Limiter, Func<ApiRateLimits> Limits);
}
