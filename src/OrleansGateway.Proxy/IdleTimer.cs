namespace OrleansGateway.Proxy;

/// <summary>
/// The idle timeout of one connection (<see cref="OrleansGateway.Model.UpstreamPlan.IdleTimeout"/>). Both pumps stamp
/// the time of every byte they move with <see cref="Touch"/>; one timer per connection compares when it fires and
/// either finds the connection idle or re-arms for the time left. Nothing is reset per message, so a busy connection
/// costs one timer callback per idle period.
/// </summary>
/// <remarks>
/// A mutable struct held in a field of its <see cref="Relay"/> (never copied): no object of its own, and no timer at all
/// for a connection without an idle timeout.
/// </remarks>
internal struct IdleTimer
{
    private ITimer? _timer;
    private TimeSpan _timeout;
    private long _lastActivity;

    /// <summary>
    /// Arms the timer when there is a timeout (null or not positive: none). It calls <paramref name="onTimer"/> with
    /// <paramref name="state"/>, which asks <see cref="Expired"/>.
    /// </summary>
    public void Start(TimeSpan? timeout, TimeProvider time, TimerCallback onTimer, object state)
    {
        if (timeout is not { } idleTimeout || idleTimeout <= TimeSpan.Zero)
        {
            return;
        }

        _timeout = idleTimeout;
        Volatile.Write(ref _lastActivity, time.GetTimestamp());

        // Created disarmed and armed after the field is set, so the callback always finds the timer to re-arm.
        _timer = time.CreateTimer(onTimer, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(idleTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A byte moved at <paramref name="timestamp"/> (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public void Touch(long timestamp) => Volatile.Write(ref _lastActivity, timestamp);

    /// <summary>For the timer's callback: true when nothing moved for the whole timeout; otherwise re-armed for the time left.</summary>
    public bool Expired(TimeProvider time)
    {
        var idleFor = time.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (idleFor >= _timeout)
        {
            return true;
        }

        try
        {
            _timer?.Change(_timeout - idleFor, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The connection closed meanwhile.
        }

        return false;
    }

    public readonly void Stop() => _timer?.Dispose();
}
