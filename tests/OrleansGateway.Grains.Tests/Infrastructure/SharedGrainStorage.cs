using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace OrleansGateway.Grains.Tests.Infrastructure;

/// <summary>
/// Grain storage shared by every silo of the in-process test cluster, like a real database (Azure Table in
/// production). Orleans' memory storage keeps state in a grain that lives on one silo, so killing that silo would
/// lose the state and a "reactivates elsewhere with its state" test would test the storage, not the grains.
/// State is stored serialized, so a reader never shares objects with a writer; ETags are checked as a real store does.
/// </summary>
public sealed class SharedStore
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), (byte[] Data, string ETag)> _entries = new();
    private readonly ConcurrentDictionary<(string State, string Key), int> _failures = new();
    private long _etag;

    public IGrainStorage For(Serializer serializer) => new Storage(this, serializer);

    /// <summary>
    /// The <paramref name="nth"/> next write of state <paramref name="stateName"/> of the grain whose key is
    /// <paramref name="grainKey"/> fails as a storage outage would (the store keeps the old value).
    /// </summary>
    public void FailWrite(string stateName, string grainKey, int nth = 1) => _failures[(stateName, grainKey)] = nth;

    /// <summary>The stored size of state <paramref name="stateName"/> of the grain whose key is <paramref name="grainKey"/>; null when none is stored.</summary>
    public int? StoredBytes(string stateName, string grainKey) =>
        _entries.Where(e => e.Key.State == stateName && e.Key.Grain.Key.ToString() == grainKey).Select(e => (int?)e.Value.Data.Length).FirstOrDefault();

    /// <summary>Stores <paramref name="state"/> as a grain of an earlier build would have written it (before the grain activates).</summary>
    public void Put<T>(Serializer serializer, string stateName, GrainId grain, T state) =>
        _entries[(stateName, grain)] = (serializer.SerializeToArray(state), Interlocked.Increment(ref _etag).ToString(System.Globalization.CultureInfo.InvariantCulture));

    private void ThrowIfArmed(string stateName, GrainId grainId)
    {
        var key = (stateName, grainId.Key.ToString()!);
        if (_failures.TryGetValue(key, out var left) && _failures.TryUpdate(key, left - 1, left) && left == 1)
        {
            _failures.TryRemove(key, out _);
            throw new IOException($"injected failure: write of {stateName} of {grainId}");
        }
    }

    private sealed class Storage(SharedStore store, Serializer serializer) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            if (store._entries.TryGetValue((stateName, grainId), out var entry))
            {
                grainState.State = serializer.Deserialize<T>(entry.Data);
                grainState.ETag = entry.ETag;
                grainState.RecordExists = true;
            }

            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            store.ThrowIfArmed(stateName, grainId);
            var etag = Interlocked.Increment(ref store._etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var data = serializer.SerializeToArray(grainState.State);
            store._entries.AddOrUpdate((stateName, grainId),
                _ => grainState.ETag is null ? (data, etag) : throw Inconsistent(grainState.ETag, null),
                (_, old) => old.ETag == grainState.ETag ? (data, etag) : throw Inconsistent(grainState.ETag, old.ETag));
            grainState.ETag = etag;
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            store._entries.TryRemove((stateName, grainId), out _);
            grainState.ETag = null;
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        private static InconsistentStateException Inconsistent(string? mine, string? stored) =>
            new($"ETag mismatch: the grain wrote with {mine ?? "none"}, the store has {stored ?? "none"}", stored, mine);
    }
}
