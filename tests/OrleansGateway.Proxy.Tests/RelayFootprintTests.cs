using System.Net.Sockets;
using OrleansGateway.Model.Plan;
using OrleansGateway.Proxy.Tests.Infrastructure;
using static OrleansGateway.Proxy.Tests.Infrastructure.Plans;

namespace OrleansGateway.Proxy.Tests;

/// <summary>Run alone: the figures are the whole process's allocations and heap, so no other test may run meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FootprintCollection
{
    public const string Name = "footprint";
}

/// <summary>
/// What the relay costs in memory, through real loopback connections: nothing allocated per relayed message, and no
/// buffer held by an idle connection (docs/data-plane.md, "Copy loops, buffers and half-close").
/// </summary>
[Collection(FootprintCollection.Name)]
public sealed class RelayFootprintTests
{
    private const int MessageSize = 64;

    [Fact]
    public async Task Relaying_small_messages_allocates_nothing_per_message()
    {
        await using var upstream = LeanEcho();
        await using var proxy = new ProxyHarness();
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint)))));
        using var client = await proxy.ConnectAsync(listener);
        await RoundTripsAsync(client, 2_000); // warm-up: JIT tiers, pool and socket-engine state

        // The counter is the whole process's: background work (timers, the tiered JIT) adds bursts now and then, so
        // the quietest of a few rounds is taken. One object per relayed message would be at least 24 bytes in each.
        const int roundTrips = 5_000;
        var fewest = long.MaxValue;
        for (var round = 0; round < 5; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            await RoundTripsAsync(client, roundTrips);
            fewest = Math.Min(fewest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        var perMessage = fewest / (2.0 * roundTrips);
        Assert.True(perMessage < 8, $"{perMessage:F1} bytes allocated per relayed message (client and echo upstream included)");
    }

    [Fact]
    public async Task An_idle_proxied_connection_holds_no_buffer()
    {
        await using var upstream = LeanEcho();
        var options = new ProxyOptions();
        await using var proxy = new ProxyHarness(options);
        var listener = Loopback();
        await proxy.ApplyBoundAsync(Plan(Cleartext(listener, Route(Upstream(upstream.EndPoint, idleTimeout: TimeSpan.FromHours(1))))));
        const int connections = 900; // below the default circuit breaker's 1,024 connections
        var held = new List<Socket>(connections + 50);
        try
        {
            await OpenIdleAsync(proxy, listener, 50, held); // warm-up: the buffers these used are in the pool before measuring
            var before = GC.GetTotalMemory(forceFullCollection: true);
            await OpenIdleAsync(proxy, listener, connections, held);
            var perConnection = (GC.GetTotalMemory(forceFullCollection: true) - before) / (double)connections;

            // Each connection moved a message both ways, so each direction rented a buffer once; one kept by an idle
            // connection would be options.BufferSize (64 KiB) more. The figure includes the client and echo sockets.
            Assert.True(perConnection < options.BufferSize / 2, $"{perConnection:F0} bytes of heap per idle connection");
            Assert.Equal(connections + 50, proxy.Metrics.Sum("ogw.proxy.connections.active"));
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    /// <summary>Echo with a small buffer and the allocation-free socket calls, so that it adds nothing per message.</summary>
    private static TestUpstream LeanEcho() => new(async s =>
    {
        var buffer = new byte[256];
        int n;
        while ((n = await s.ReceiveAsync(buffer.AsMemory(), SocketFlags.None)) > 0)
        {
            await s.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
        }

        s.Shutdown(SocketShutdown.Send);
    });

    private static async Task OpenIdleAsync(ProxyHarness proxy, ListenerEndpoint listener, int count, List<Socket> held)
    {
        for (var i = 0; i < count; i++)
        {
            var client = await proxy.ConnectAsync(listener);
            held.Add(client);
            await RoundTripsAsync(client, 1);
        }
    }

    /// <summary>
    /// One state machine for all round trips (one per call would be counted per message) and nothing that allocates per
    /// call (xunit's generic asserts do), bounded by the deadline.
    /// </summary>
    private static Task RoundTripsAsync(Socket client, int count) => RunAsync(client, count).WaitAsync(Net.Deadline * 3);

    private static async Task RunAsync(Socket client, int count)
    {
        var message = new byte[MessageSize];
        var echo = new byte[MessageSize];
        for (var i = 0; i < count; i++)
        {
            await client.SendAsync(message.AsMemory(), SocketFlags.None);
            var got = 0;
            while (got < MessageSize)
            {
                var n = await client.ReceiveAsync(echo.AsMemory(got), SocketFlags.None);
                if (n == 0)
                {
                    throw new EndOfStreamException($"the proxy closed the connection after {i} round trips");
                }

                got += n;
            }
        }
    }
}
