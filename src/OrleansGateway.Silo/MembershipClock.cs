namespace OrleansGateway.Silo;

/// <summary>
/// The clock Orleans' membership runs on (the keyed <c>TimeProviderNames.Membership</c> service): the system clock, except
/// that a periodic timer fires at most once a second. Orleans' thread-pool stall detector ticks every 100 ms for its
/// local health score, which counts whole seconds of stall; ten wake-ups a second were the largest share of an idle
/// gateway's CPU (docs/benchmarks.md, "Idle"). At one tick a second a stall of a second or more is still seen, within
/// a second of precision. Every other membership timer has a period of a second or more and is unchanged.
/// </summary>
internal sealed class MembershipClock(TimeProvider inner) : TimeProvider
{
    public static readonly TimeSpan ShortestPeriod = TimeSpan.FromSeconds(1);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        => inner.CreateTimer(callback, state, Clamp(dueTime, period), Clamp(period, period));

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    /// <summary>A periodic timer's times below <see cref="ShortestPeriod"/> become that; one-shot timers are left alone.</summary>
    private static TimeSpan Clamp(TimeSpan value, TimeSpan period)
        => period > TimeSpan.Zero && period < ShortestPeriod && value >= TimeSpan.Zero && value < ShortestPeriod ? ShortestPeriod : value;
}
