using System.Net;
using System.Text.Json;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Health;

/// <summary>/health tells a source that keeps failing, from the run history every collect writes.</summary>
public sealed class SourceHealthTests : IAsyncLifetime
{
    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync() => _feeds = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _feeds.DisposeAsync();
        await _host.DisposeAsync();
    }

    private async Task CollectTimesAsync(int times)
    {
        for (var i = 0; i < times; i++)
            await _host.RunAsync("collect");
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> HealthAsync(string baseUrl)
    {
        using var client = new HttpClient();
        var response = await client.GetAsync(baseUrl + "/health");
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    private async Task RunsRecordedAsync(long runs)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM source_runs") < runs)
        {
            Assert.True(DateTime.UtcNow < deadline, "the collect at start-up was not recorded within 15 s");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task ASourceFailingForSeveralRunsDegradesHealthAndAllFailingMakesItUnhealthy()
    {
        _feeds.Serve("/rss/cs.AI", "arxiv_rss_cs.AI.xml");
        _host.UseSources(("good", "Rss", _feeds.Url("/rss/cs.AI")), ("broken", "Rss", _feeds.Url("/missing")));
        _host.Set("Newsletter:SourceUnhealthyAfter", "3");
        // The service collects once at start: that is the first run of each.
        var baseUrl = await _host.StartServiceAsync();
        await RunsRecordedAsync(2);
        await CollectTimesAsync(1);

        var (status, body) = await HealthAsync(baseUrl);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("sources").GetProperty("status").GetString());

        await CollectTimesAsync(1);
        (status, body) = await HealthAsync(baseUrl);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", body.GetProperty("status").GetString());
        Assert.Equal(["sources"], body.GetProperty("unhappy").EnumerateArray().Select(e => e.GetString()));
        var sources = body.GetProperty("checks").GetProperty("sources");
        Assert.Contains("broken (3 failed, last success never)", sources.GetProperty("description").GetString());
        var good = sources.GetProperty("data").GetProperty("good");
        Assert.Equal(0, good.GetProperty("papersLastRun").GetInt32()); // answered 304 since
        Assert.Equal(0, good.GetProperty("failedRunsInARow").GetInt32());
        Assert.Equal(3, sources.GetProperty("data").GetProperty("broken").GetProperty("failedRunsInARow").GetInt32());

        // The good source breaks too: after three failed collects every source is down.
        _feeds.Files["/rss/cs.AI"] = null;
        await CollectTimesAsync(3);
        (status, body) = await HealthAsync(baseUrl);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", body.GetProperty("checks").GetProperty("sources").GetProperty("status").GetString());
        Assert.Contains("every source has failed", body.GetProperty("checks").GetProperty("sources").GetProperty("description").GetString());

        // One good run puts it back: the count is of failures in a row.
        _feeds.Serve("/rss/cs.AI", "arxiv_rss_cs.AI.xml");
        await CollectTimesAsync(1);
        var history = await _host.Service<SourceHealthStore>().ListAsync(["good", "broken"], 10, CancellationToken.None);
        var goodHistory = history.Single(h => h.Name == "good");
        Assert.Equal(0, goodHistory.ConsecutiveFailures);
        Assert.Equal([CollectOutcome.NotModified, CollectOutcome.Failed, CollectOutcome.Failed, CollectOutcome.Failed, CollectOutcome.NotModified, CollectOutcome.NotModified, CollectOutcome.Stored],
            goodHistory.RecentRuns.Select(r => r.Outcome));
        Assert.NotNull(goodHistory.LastSuccessAt);
        Assert.Contains("500", goodHistory.LastError);
        var brokenHistory = history.Single(h => h.Name == "broken");
        Assert.Equal(7, brokenHistory.ConsecutiveFailures);
        Assert.Null(brokenHistory.LastSuccessAt);
        Assert.Equal(3, goodHistory.RecentRuns[^1].Papers);
        (status, body) = await HealthAsync(baseUrl);
        Assert.Equal("Degraded", body.GetProperty("checks").GetProperty("sources").GetProperty("status").GetString());
    }
}
