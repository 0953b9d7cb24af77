using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

/// <summary>An <see cref="IMeterFactory"/> whose meters carry it as scope, so a test only sees its own server.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly ConcurrentBag<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        _meters.Add(meter);
        return meter;
    }

    public void Dispose()
    {
        foreach (var meter in _meters)
        {
            meter.Dispose();
        }
    }
}

/// <summary>Sums every long measurement of one meter factory by instrument name and by (name, tag=value).</summary>
internal sealed class MetricCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();

    public MetricCollector(TestMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == ProxyServer.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            _sums.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
            foreach (var tag in tags)
            {
                _sums.AddOrUpdate($"{instrument.Name}|{tag.Key}={tag.Value}", value, (_, v) => v + value);
            }
        });
        _listener.Start();
    }

    /// <summary>Sum of <paramref name="instrument"/>, optionally only measurements tagged <paramref name="tag"/> (<c>key=value</c>).</summary>
    public long Sum(string instrument, string? tag = null) => _sums.TryGetValue(tag is null ? instrument : $"{instrument}|{tag}", out var v) ? v : 0;

    public void Dispose() => _listener.Dispose();
}
