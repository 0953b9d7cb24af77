using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace OrleansGateway.Cli.Client;

/// <summary>An answer of the management API: its status and its body exactly as it came.</summary>
internal sealed record ApiResponse(HttpStatusCode Status, string Body)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The body as JSON, or null when it is empty or not JSON (a proxy's error page, a 204).</summary>
    public JsonElement? Json()
    {
        if (string.IsNullOrWhiteSpace(Body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>The gateway could not be reached, or did not answer in time.</summary>
internal sealed class ApiUnreachableException(Uri server, string reason, Exception inner) : Exception(reason, inner)
{
    public Uri Server { get; } = server;
}

/// <summary>The management API over HTTP (docs/api.md): one request per call, the key as a bearer token.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri server, string? token, TimeSpan timeout)
    {
        Server = server;
        _http = new HttpClient { BaseAddress = server, Timeout = timeout };
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Uri Server { get; }

    /// <summary>How many times a call answered 429 Too Many Requests is sent again (after the server's Retry-After).</summary>
    internal const int RateLimitRetries = 3;

    /// <summary>The longest Retry-After the client honours; a longer one is returned to the caller as the 429 it is.</summary>
    internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(5);

    /// <param name="path">Relative to the server, e.g. <c>api/v1/whoami</c> (no leading slash, so a server URL with a path prefix keeps it).</param>
    /// <remarks>
    /// A 429 (the API's rate limit, docs/api.md) is retried up to <see cref="RateLimitRetries"/> times after the
    /// Retry-After it carries (1 s when absent), as kubectl does; every call is idempotent or refused whole, so
    /// sending it again loses nothing.
    /// </remarks>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        // The body is read once: a request message (and its content) cannot be sent twice.
        byte[]? body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var contentType = content?.Headers.ContentType;
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = contentType;
            }

            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            try
            {
                using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.TooManyRequests && attempt < RateLimitRetries)
                {
                    var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                    if (wait <= MaxRetryAfter)
                    {
                        await Task.Delay(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                }

                return new ApiResponse(response.StatusCode, text);
            }
            catch (HttpRequestException e)
            {
                throw new ApiUnreachableException(Server, e.InnerException?.Message ?? e.Message, e);
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ApiUnreachableException(Server, $"no answer within {_http.Timeout.TotalSeconds:0} s", e);
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
