using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace OrleansGateway.Api.Tests.Infrastructure;

/// <summary>
/// Chooses writes of the gateway's real grain storage that fail, as an outage of the store would: the gateway's
/// "gateway" provider (memory storage here) is wrapped by <see cref="Install"/>; nothing fails until armed.
/// </summary>
public sealed class StorageFaults
{
    private readonly ConcurrentDictionary<(string State, string Key), int> _armed = new();

    /// <summary>The <paramref name="nth"/> next write of <paramref name="stateName"/> of the grain keyed <paramref name="grainKey"/> fails.</summary>
    public void FailWrite(string stateName, string grainKey, int nth = 1) => _armed[(stateName, grainKey)] = nth;

    /// <summary>Wraps the keyed <see cref="IGrainStorage"/> registered under <paramref name="name"/> (after Orleans registered it).</summary>
    public void Install(IServiceCollection services, string name)
    {
        var original = services.Last(d => d.IsKeyedService && Equals(d.ServiceKey, name) && d.ServiceType == typeof(IGrainStorage));
        var factory = original.KeyedImplementationFactory ?? throw new InvalidOperationException($"grain storage '{name}' has no factory to wrap");
        services.AddKeyedSingleton<IGrainStorage>(name, (sp, key) => new Storage((IGrainStorage)factory(sp, key), this));
    }

    private void ThrowIfArmed(string stateName, GrainId grainId)
    {
        var key = (stateName, grainId.Key.ToString()!);
        if (_armed.TryGetValue(key, out var left) && _armed.TryUpdate(key, left - 1, left) && left == 1)
        {
            _armed.TryRemove(key, out _);
            throw new IOException($"injected failure: write of {stateName} of {grainId}");
        }
    }

    private sealed class Storage(IGrainStorage inner, StorageFaults faults) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            faults.ThrowIfArmed(stateName, grainId);
            return inner.WriteStateAsync(stateName, grainId, grainState);
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }
}
