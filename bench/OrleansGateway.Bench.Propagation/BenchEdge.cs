using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using OrleansGateway.Edge;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy;

namespace OrleansGateway.Bench.Propagation;

/// <summary>
/// One edge as a silo runs it: an <see cref="EdgeRouteCache"/> on the silo's grain factory feeding a real
/// <see cref="ProxyServer"/>. All edges live in one process, so edge <c>i</c> binds the plan's ports on its own
/// loopback address 127.0.0.(i+1) instead of the planned address (every edge of a real deployment binds the same
/// address on its own machine).
/// </summary>
internal sealed class BenchEdge : IAsyncDisposable
{
    private readonly ProxyServer _proxy;
    private readonly EdgeRouteCache _cache;
    private Expectation? _expectation;
    private int _applied;

    public BenchEdge(int index, IGrainFactory grains, string ambassadorId, TimeSpan pollInterval, ILoggerFactory loggerFactory)
    {
        Address = $"127.0.0.{index + 1}";
        _proxy = new ProxyServer(new ProxyOptions { DrainTimeout = TimeSpan.FromSeconds(1) }, loggerFactory);
        _cache = new EdgeRouteCache(grains, ambassadorId, ApplyAsync, loggerFactory.CreateLogger<EdgeRouteCache>(), pollInterval: pollInterval);
    }

    public string Address { get; }

    /// <summary>Snapshots this edge's ProxyServer took.</summary>
    public int Applied => Volatile.Read(ref _applied);

    public bool HasSnapshot => _cache.Current is not null;

    public void Start() => _cache.Start();

    /// <summary>
    /// Completes with the <see cref="Stopwatch"/> timestamp at which <see cref="ProxyServer.ApplyAsync"/> returned for
    /// the first plan that satisfies <paramref name="served"/>: from then on the edge's listener is bound and routes it.
    /// Set before the change is applied (an edge may serve it before the apply call returns).
    /// </summary>
    public Task<long> Expect(Func<GatewayPlan, bool> served)
    {
        var expectation = new Expectation(served);
        Volatile.Write(ref _expectation, expectation);
        return expectation.Served.Task;
    }

    /// <summary>Connects through this edge's listener on <paramref name="port"/> and returns the upstream's greeting.</summary>
    public async Task<string> GreetingThroughAsync(int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(Address), port), cancellationToken).ConfigureAwait(false);
        var buffer = new byte[256];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (buffer[length - 1] == (byte)'\n')
            {
                break;
            }
        }

        return Encoding.ASCII.GetString(buffer, 0, length).TrimEnd('\n');
    }

    private async Task ApplyAsync(EdgeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var plan = snapshot.Plan with
        {
            Listeners = [.. snapshot.Plan.Listeners.Select(l => l with { Endpoint = l.Endpoint with { Address = Address } })],
        };
        var result = await _proxy.ApplyAsync(plan, snapshot.Certificates, cancellationToken).ConfigureAwait(false);
        var servedAt = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _applied);
        var expectation = Volatile.Read(ref _expectation);
        if (result.Failed.FirstOrDefault() is { } failed)
        {
            // A port taken by something else on this machine: the numbers would be meaningless, so stop the run.
            var error = new InvalidOperationException($"edge {Address} could not bind {failed.Endpoint}: {failed.Error}. Choose another --base-port.");
            expectation?.Served.TrySetException(error);
            throw error;
        }

        if (expectation is not null && expectation.IsServedBy(plan))
        {
            expectation.Served.TrySetResult(servedAt);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cache.DisposeAsync().ConfigureAwait(false);
        await _proxy.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Expectation(Func<GatewayPlan, bool> isServedBy)
    {
        public Func<GatewayPlan, bool> IsServedBy { get; } = isServedBy;

        public TaskCompletionSource<long> Served { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
