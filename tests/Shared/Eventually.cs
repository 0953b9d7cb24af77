namespace OrleansGateway.Testing;

/// <summary>
/// Polling with a deadline instead of fixed sleeps. Linked into the test projects that drive a running gateway
/// (Host, Api), so that they share one copy.
/// </summary>
internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes (no fixed sleeps).</summary>
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(25);
        }
    }
}
