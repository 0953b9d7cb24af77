namespace OrleansGateway.Testing;

/// <summary>
/// Polling with a deadline instead of fixed sleeps: the one polling helper of the test projects, linked into each of
/// them from tests/Shared. The deadlines are generous because the suite runs on loaded machines; a deadline only
/// decides how long a failing test takes, never whether a working one passes.
/// </summary>
internal static class Eventually
{
    /// <summary>How long the asserting forms wait unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds (true) or <paramref name="timeout"/> passes (false), for callers
    /// that assert with a message of their own. An exception from the condition is not retried: it fails the test.
    /// </summary>
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout)
        => (await PollAsync(condition, ok => ok, timeout, retryErrors: false)).Done;

    /// <summary>Fails the test naming <paramref name="what"/> unless <paramref name="condition"/> holds before the deadline.</summary>
    public static Task Until(Func<bool> condition, string what, TimeSpan? timeout = null)
        => Get(() => Task.FromResult(condition()), ok => ok, what, timeout);

    /// <summary>Fails the test naming <paramref name="what"/> unless <paramref name="condition"/> holds before the deadline.</summary>
    public static Task Until(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
        => Get(condition, ok => ok, what, timeout);

    /// <summary>
    /// Polls <paramref name="read"/> until <paramref name="condition"/> holds for its value and returns that value; fails the
    /// test naming <paramref name="what"/>, the last value and the last error when the deadline passes first. Errors
    /// before the deadline count as "not yet" (a grain reactivating, a listener not bound yet).
    /// </summary>
    public static async Task<T> Get<T>(Func<Task<T>> read, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var (done, last, error) = await PollAsync(read, condition, limit, retryErrors: true);
        if (!done)
        {
            var lastValue = last is bool ? "" : $"; last value: {last}";
            Assert.Fail($"timed out after {limit.TotalSeconds:0.#} s waiting for {what}{lastValue}{(error is null ? "" : $"; last error: {error.Message}")}");
        }

        return last!;
    }

    private static async Task<(bool Done, T? Last, Exception? Error)> PollAsync<T>(
        Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, bool retryErrors)
    {
        var deadline = DateTime.UtcNow + timeout;
        T? last = default;
        while (true)
        {
            Exception? error = null;
            try
            {
                last = await read();
                if (condition(last))
                {
                    return (true, last, null);
                }
            }
            catch (Exception e) when (retryErrors && DateTime.UtcNow < deadline)
            {
                error = e;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return (false, last, error);
            }

            await Task.Delay(Interval);
        }
    }
}
