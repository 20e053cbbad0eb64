using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Newsletter.Orchestration;
using Newsletter.Tests.Support;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using SmtpServer.Protocol;

namespace Newsletter.Tests.Health;

/// <summary>The service's instruments are process-wide: these tests run alone, so no other test's sends are counted.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics";
}

/// <summary>
/// A send to the in-process SMTP server with the OpenTelemetry in-memory exporter listening: the digest counts
/// by outcome equal the ledger's, papers per source equal the run history's, and the collect, compose and
/// dispatch activities are traced. The same numbers are served at /metrics when Metrics:Prometheus is on.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new(recipient => recipient switch
    {
        "refused@example.org" => new SmtpResponse((SmtpReplyCode)550, "5.1.1 no such user"),
        "later@example.org" => new SmtpResponse((SmtpReplyCode)451, "4.3.0 try again later"),
        _ => null,
    });
    private readonly TestHost _host = new();
    private FixtureServer _feeds = null!;
    private readonly List<MetricSnapshot> _metrics = [];
    private readonly List<Activity> _activities = [];

    public async ValueTask InitializeAsync() => _feeds = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _feeds.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public async Task TheDigestCountsEqualTheLedgersAndTheWorkIsTraced()
    {
        _feeds.Serve("/rss/cs.AI", "arxiv_rss_cs.AI.xml");
        _feeds.Serve("/api/daily_papers", "hf_daily_papers.json");
        _host.UseSources(("arxiv-cs.AI", "Rss", _feeds.Url("/rss/cs.AI")), ("hf", "HuggingFaceDaily", _feeds.Url("/api/daily_papers")));
        _host.UseSmtp(_smtp.Port);
        foreach (var reader in new[] { "ada@example.org", "grace@example.org", "refused@example.org", "later@example.org" })
            Assert.Equal(0, (await _host.RunAsync("subscribers", "add", reader, "--confirmed")).Exit);
        _host.Configure = builder =>
        {
            builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(_metrics));
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_activities));
        };
        await _host.StartServiceAsync();
        // The service collects at start: wait for both sources' runs, then send today's issue.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM source_runs") < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the collect at start-up did not finish");
            await Task.Delay(50);
        }
        await SendTodayAsync(4);
        Assert.True(_host.Service<MeterProvider>().ForceFlush(10_000));
        Assert.True(_host.Service<TracerProvider>().ForceFlush(10_000));

        var ledger = new Dictionary<string, long>();
        await using (var connection = await _host.OpenAsync())
            foreach (var (status, count) in await Dapper.SqlMapper.QueryAsync<(string, long)>(connection, "SELECT status, COUNT(*) FROM deliveries GROUP BY status"))
                ledger[status == "pending" ? "deferred" : status] = count;
        Assert.Equal(new Dictionary<string, long> { ["sent"] = 2, ["bounced"] = 1, ["deferred"] = 1 }, ledger);
        Assert.Equal(ledger, Sums("newsletter.digests", "outcome"));

        var papers = new Dictionary<string, long>();
        await using (var connection = await _host.OpenAsync())
            foreach (var (source, count) in await Dapper.SqlMapper.QueryAsync<(string, long)>(connection, "SELECT source, SUM(papers) FROM source_runs GROUP BY source"))
                papers[source] = count;
        Assert.Equal(papers, Sums("newsletter.papers.collected", "source"));
        Assert.True(papers["arxiv-cs.AI"] > 0);

        // Every message handed to the relay was timed (the refused ones too: the relay answered), and every render.
        Assert.Equal(4, HistogramCount("newsletter.smtp.send.duration"));
        Assert.True(HistogramCount("newsletter.render.duration") >= 3);
        Assert.Equal(1, LastGauge("newsletter.ledger.backlog"));
        Assert.Contains(_activities, a => a.Source.Name == "Newsletter" && a.DisplayName == "collect");
        Assert.Contains(_activities, a => a.Source.Name == "Newsletter" && a.DisplayName == "compose");
        Assert.Contains(_activities, a => a.Source.Name == "Newsletter" && a.DisplayName == "dispatch");
    }

    [Fact]
    public async Task PrometheusIsServedTheSameCountsWhenAskedFor()
    {
        _feeds.Serve("/rss/cs.AI", "arxiv_rss_cs.AI.xml");
        _host.UseSources(("arxiv-cs.AI", "Rss", _feeds.Url("/rss/cs.AI")));
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Metrics:Prometheus", "true");
        foreach (var reader in new[] { "ada@example.org", "refused@example.org" })
            Assert.Equal(0, (await _host.RunAsync("subscribers", "add", reader, "--confirmed")).Exit);
        var baseUrl = await _host.StartServiceAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM source_runs") < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the collect at start-up did not finish");
            await Task.Delay(50);
        }
        await SendTodayAsync(2);
        using var client = new HttpClient();

        var response = await client.GetAsync(baseUrl + "/metrics");
        var scrape = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches(@"newsletter_digests(_total)?\{[^}]*outcome=""sent""[^}]*\} 1(\s|$)", scrape);
        Assert.Matches(@"newsletter_digests(_total)?\{[^}]*outcome=""bounced""[^}]*\} 1(\s|$)", scrape);
        Assert.Contains("newsletter_papers_collected", scrape);
    }

    [Fact]
    public async Task MetricsAreNotServedUnlessAskedFor()
    {
        var baseUrl = await _host.StartServiceAsync();
        using var client = new HttpClient();

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(baseUrl + "/metrics")).StatusCode);
    }

    /// <summary>
    /// Today's issue, whoever composes it (the catch-up at start may be first), and every send of it finished:
    /// a dispatch waits for one in progress, so after ours the counts are final.
    /// </summary>
    private async Task SendTodayAsync(long readers)
    {
        var digest = _host.Service<DailyDigest>();
        await digest.RunAsync(digest.Today(), null, CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries") < readers)
        {
            Assert.True(DateTime.UtcNow < deadline, "today's issue was not composed");
            await Task.Delay(50);
        }
        await _host.Service<Newsletter.Delivery.Dispatcher>().DispatchAsync(null, CancellationToken.None);
    }

    private MetricSnapshot? Last(string name) => _metrics.LastOrDefault(m => m.Name == name);

    /// <summary>The cumulative sum of a counter per value of one tag, from the last export.</summary>
    private Dictionary<string, long> Sums(string name, string tag)
    {
        var sums = new Dictionary<string, long>();
        if (Last(name) is not { } metric)
            return sums;
        foreach (var point in metric.MetricPoints)
        {
            string? value = null;
            foreach (var pair in point.Tags)
                if (pair.Key == tag)
                    value = pair.Value?.ToString();
            var sum = point.GetSumLong();
            if (value is not null && sum != 0)
                sums[value] = sums.GetValueOrDefault(value) + sum;
        }
        return sums;
    }

    private long HistogramCount(string name) => Last(name) is { } metric ? metric.MetricPoints.Sum(p => p.GetHistogramCount()) : 0;

    private long LastGauge(string name) => Last(name) is { } metric ? metric.MetricPoints.Last().GetGaugeLastValueLong() : -1;
}
