using System.Net;
using System.Text.Json;
using OrleansGateway.Kubernetes.Tests.Infrastructure;
using static OrleansGateway.Kubernetes.Tests.Infrastructure.FakeApiServer;

namespace OrleansGateway.Kubernetes.Tests;

/// <summary>
/// Watching never misses a change (docs/kubernetes.md, "Watching"): 410 Gone either way lists again and diffs,
/// deletions included; an ended or cut stream watches again from the last version; an unreachable API server keeps
/// what was applied, shows in /readyz and the metrics, and is caught up with when it answers again.
/// </summary>
public sealed class WatchTests : ClusterTest
{
    private const string TcpMappingsPath = "/apis/getambassador.io/v3alpha1/tcpmappings";

    [Theory]
    [InlineData(GoneMode.ErrorEvent)]
    [InlineData(GoneMode.HttpStatus)]
    public async Task A_410_Gone_on_watching_again_lists_again_and_loses_nothing_deletions_included(GoneMode mode)
    {
        Api.Gone = mode;
        await using var gateway = await KubeGateway.StartAsync(Api);
        int kept = Ports.Free(), doomed = Ports.Free(), added = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "kept", kept, Upstream));
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "doomed", doomed, Upstream));
        await ServedAsync(kept);
        await ServedAsync(doomed);
        var lists = Lists();

        // The streams are cut and do not come back until the server has forgotten what happened meanwhile.
        var watches = Watches().Count;
        Api.HoldWatches();
        await Eventually.Until(() => Watches().Count > watches && Api.HeldWatches > 0, "the gateway to watch tcpmappings again");
        Api.Delete(TcpMappings, "default", "doomed");
        Api.Apply(TcpMappings, Objects.TcpMapping("default", "added", added, Upstream));
        Api.Compact();
        Api.ReleaseWatches();

        await ServedAsync(added);
        await Eventually.Until(async () => await Traffic.TryEchoAsync(doomed, "gone?") is null, "the mapping deleted during the gap to be withdrawn");
        Assert.Equal("still", await Traffic.EchoAsync(kept, "still"));
        Assert.True(Lists() > lists, "the 410 made the gateway list again");
        var restarts = Metrics.Sum(await gateway.MetricsAsync(), "ogw_kubernetes_watch_restarts_total", "reason=\"gone\"", "resource=\"tcpmappings\"");
        Assert.True(restarts >= 1, $"ogw_kubernetes_watch_restarts_total{{reason=gone,resource=tcpmappings}} is {restarts}");
    }

    [Fact]
    public async Task An_ERROR_410_on_an_open_watch_lists_again()
    {
        await using var gateway = await KubeGateway.StartAsync(Api);
        await ServedAsync(Apply("first"));
        var lists = Lists();

        Api.ExpireWatches();

        await Eventually.Until(() => Lists() > lists, "a new list of tcpmappings after the ERROR event");
        await ServedAsync(Apply("after"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_ended_or_cut_stream_watches_again_from_the_last_version_without_listing(bool cut)
    {
        await using var gateway = await KubeGateway.StartAsync(Api);
        await ServedAsync(Apply("before"));
        var lists = Lists();
        var watches = Watches().Count;
        var lastVersion = long.Parse(Api.Get(TcpMappings, "default", "before")!["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

        if (cut)
        {
            Api.DropWatches();
        }
        else
        {
            Api.EndWatches();
        }

        await Eventually.Until(() => Watches().Count > watches, "the gateway to watch tcpmappings again");
        var again = Watches()[watches];
        var from = long.Parse(System.Web.HttpUtility.ParseQueryString(again[(again.IndexOf('?') + 1)..])["resourceVersion"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(from >= lastVersion, $"watched again from {from}, before the last version seen ({lastVersion}): {again}");
        await ServedAsync(Apply("after"));
        Assert.Equal(lists, Lists());
    }

    /// <summary>
    /// Changes of other kinds move the one resourceVersion on; a quiet watch hears of it through BOOKMARKs only, so
    /// watching again starts from there rather than from an old version the server may have compacted away.
    /// </summary>
    [Fact]
    public async Task Bookmarks_move_the_version_a_quiet_watch_resumes_from()
    {
        await using var gateway = await KubeGateway.StartAsync(Api);
        await ServedAsync(Apply("first"));
        Assert.All(Watches(), w => Assert.Contains("allowWatchBookmarks=true", w, StringComparison.Ordinal));

        long moved = 0;
        for (var i = 0; i < 3; i++)
        {
            var secret = Api.Apply(Secrets, Objects.OpaqueSecret("default", $"other-{i}", "key", "value"));
            moved = long.Parse(secret["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        }

        // End the watch now and then (each lives long enough for a bookmark) until one comes back from the new version.
        var before = Watches().Count;
        var sinceEnd = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.Until(
            () =>
            {
                if (Watches().Skip(before).Any(w => From(w) >= moved))
                {
                    return true;
                }

                if (sinceEnd.Elapsed > Api.BookmarkInterval * 3)
                {
                    Api.EndWatches();
                    sinceEnd.Restart();
                }

                return false;
            },
            $"tcpmappings to be watched again from version {moved} or later",
            TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task An_unreachable_API_server_keeps_what_was_applied_shows_in_readyz_and_metrics_and_is_caught_up_with()
    {
        await using var gateway = await KubeGateway.StartAsync(Api);
        var kept = Apply("kept");
        var doomed = Apply("doomed");
        await ServedAsync(kept);
        await ServedAsync(doomed);

        await Api.StopAsync();
        // Each watch notices on its own (a cut stream is watched again first): wait for the tcpmappings one.
        var readyz = await Eventually.Get(
            gateway.ReadyzAsync,
            r => r is { } answer && answer.Body.TryGetProperty("kubernetes", out var k) && k.GetProperty("apiServer").GetString() == "unreachable"
                && !TcpMappingsWatch(answer.Body).GetProperty("reachable").GetBoolean(),
            "/readyz to say the API server is unreachable for tcpmappings");
        Assert.Equal(HttpStatusCode.OK, readyz!.Value.Code);
        Assert.False(string.IsNullOrEmpty(TcpMappingsWatch(readyz.Value.Body).GetProperty("error").GetString()));
        await Eventually.Until(
            async () => Metrics.Sum(await gateway.MetricsAsync(), "ogw_kubernetes_api_reachable", "watch=\"tcpmappings\"") == 0,
            "the tcpmappings watch's reachability metric to say 0");

        // What was applied stays served while the API server is away; what changes meanwhile is seen when it is back.
        Assert.Equal("still", await Traffic.EchoAsync(kept, "still"));
        Api.Delete(TcpMappings, "default", "doomed");
        var added = Apply("added");
        await Api.StartAgainAsync();

        await ServedAsync(added);
        await Eventually.Until(async () => await Traffic.TryEchoAsync(doomed, "gone?") is null, "the mapping deleted during the outage to be withdrawn");
        await Eventually.Until(
            async () => (await gateway.ReadyzAsync())?.Body.GetProperty("kubernetes").GetProperty("apiServer").GetString() == "reachable",
            "/readyz to say the API server is reachable again");
        await Eventually.Until(
            async () => Metrics.Sum(await gateway.MetricsAsync(), "ogw_kubernetes_api_reachable", "watch=\"tcpmappings\"") == 1,
            "the tcpmappings watch's reachability metric to say 1 again");
    }

    private static JsonElement TcpMappingsWatch(JsonElement readyz) =>
        readyz.GetProperty("kubernetes").GetProperty("watches").EnumerateArray().First(w => w.GetProperty("watch").GetString() == "tcpmappings");

    private static long From(string watch) =>
        long.Parse(System.Web.HttpUtility.ParseQueryString(watch[(watch.IndexOf('?') + 1)..])["resourceVersion"]!, System.Globalization.CultureInfo.InvariantCulture);

    private int Apply(string name)
    {
        var port = Ports.Free();
        Api.Apply(TcpMappings, Objects.TcpMapping("default", name, port, Upstream));
        return port;
    }

    private static Task ServedAsync(int port) =>
        Eventually.Until(async () => await Traffic.TryEchoAsync(port, "hello") == "hello", $"port {port} to be served", TimeSpan.FromSeconds(60));

    private int Lists() => Api.Requests.Count(r => r.StartsWith($"GET {TcpMappingsPath}?", StringComparison.Ordinal) && !r.Contains("watch=true", StringComparison.Ordinal));

    private List<string> Watches() => [.. Api.Requests.Where(r => r.StartsWith($"GET {TcpMappingsPath}?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal))];
}
