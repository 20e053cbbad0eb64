using System.Globalization;
using System.Text;
using Dapper;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Learning;

/// <summary>
/// Ranking quality, offline, through the product: a corpus of six topic clusters of generated abstracts
/// (1,000–1,900 characters, realistic per-topic vocabulary, a shared filler), collected from a local fixture feed
/// and embedded by the real packaged model at <c>collect</c>; one reader per topic seeded with three papers of it
/// (<c>subscribers feedback --like</c>; older papers, collected the week before, so not served again); the
/// digests composed by <c>send-now</c>. Each reader's top 5 should be that topic's other papers.
/// </summary>
public sealed class RankingQualityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int PerTopic = 12, Seeds = 3, Top = 5;

    private FixtureServer _feeds = null!;

    public async ValueTask InitializeAsync() => _feeds = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync() => await _feeds.DisposeAsync();

    private sealed record Row(string Email, long Position, string Id, string Why);

    [Fact]
    public async Task ReadersWhoLikedThreePapersOfATopicGetItsOtherPapersInTheirTopFive()
    {
        var corpus = GeneratedPapers.Corpus(PerTopic);
        Assert.All(corpus, p => Assert.InRange(p.Summary.Length, 1_000, 1_900));
        var seeds = corpus.GroupBy(p => p.Topic).ToDictionary(g => g.Key, g => g.Take(Seeds).ToList());
        var candidates = corpus.Except(seeds.Values.SelectMany(s => s)).ToList();
        var topicOf = corpus.ToDictionary(p => p.CanonicalId, p => p.Topic);
        var published = new DateTimeOffset(2025, 9, 8, 6, 0, 0, TimeSpan.Zero);
        await using var host = new TestHost(new() { ["Newsletter:Ranking:Model"] = "MiniLM" });
        host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url("/hf")));

        // Earlier: the seed papers are collected (and embedded); then the readers join.
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson(seeds.Values.SelectMany(s => s), published.AddDays(-1));
        var before = await host.RunAsync("collect");
        Assert.True(before.Exit == 0, before.ToString());
        // Seeds are older papers: collected last week, out of every new reader's first window (NewReaderLookback).
        await host.ExecuteAsync($"UPDATE entries SET first_seen_at = first_seen_at - {(long)TimeSpan.FromDays(8).TotalMilliseconds}");
        foreach (var topic in GeneratedPapers.TopicNames)
        {
            Assert.Equal(0, (await host.RunAsync("subscribers", "add", $"{topic}@example.org", "--confirmed")).Exit);
            var liked = await host.RunAsync("subscribers", "feedback", $"{topic}@example.org", "--like", string.Join(",", seeds[topic].Select(p => p.ArxivId)));
            Assert.True(liked.Exit == 0, liked.ToString());
        }
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "score@example.org", "--confirmed")).Exit);

        // The day: the candidates, embedded at collect; then the digests.
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson(candidates, published);
        var collect = await host.RunAsync("collect");
        Assert.True(collect.Exit == 0, collect.ToString());
        Assert.Contains($"Learned ranking: embedded {candidates.Count} papers", collect.Output);
        var send = await host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.True(send.Exit == 0, send.ToString());

        List<Row> rows;
        await using (var connection = await host.OpenAsync())
            rows = (await connection.QueryAsync<Row>("""
                SELECT s.email AS Email, de.position AS Position, e.canonical_id AS Id, de.why AS Why
                FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
                JOIN digest_entries de ON de.digest_id = d.digest_id JOIN entries e ON e.id = de.entry_id
                ORDER BY s.email, de.position
                """)).ToList();
        var orders = rows.GroupBy(r => r.Email).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Position).ToList());
        var byScore = orders["score@example.org"];
        Assert.Equal(candidates.Count, byScore.Count);
        Assert.Equal(candidates.OrderByDescending(p => p.Upvotes).Select(p => p.CanonicalId), byScore.Select(r => r.Id));

        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"reader",-22} {"cluster",-9} {"P@5 learned",11} {"P@5 score",9}  top paper's why line");
        var learnedPrecisions = new List<double>();
        var scorePrecisions = new List<double>();
        foreach (var topic in GeneratedPapers.TopicNames)
        {
            var order = orders[$"{topic}@example.org"];
            Assert.Equal(candidates.Count, order.Count);
            var learned = order.Take(Top).Count(r => topicOf[r.Id] == topic) / (double)Top;
            var score = byScore.Take(Top).Count(r => topicOf[r.Id] == topic) / (double)Top;
            learnedPrecisions.Add(learned);
            scorePrecisions.Add(score);
            table.AppendLine(CultureInfo.InvariantCulture, $"{topic + "@example.org",-22} {topic,-9} {learned,11:0.00} {score,9:0.00}  {order[0].Why}");
            Assert.Contains("like \u201c", order[0].Why);
        }
        table.AppendLine(CultureInfo.InvariantCulture, $"{"mean",-22} {"",-9} {learnedPrecisions.Average(),11:0.00} {scorePrecisions.Average(),9:0.00}");
        table.AppendLine(collect.Output.Split('\n').First(l => l.StartsWith("Learned ranking:", StringComparison.Ordinal)).Trim()
            + $" ({corpus.Average(p => p.Summary.Length):0} characters an abstract on average)");
        output.WriteLine(table.ToString());

        Assert.All(learnedPrecisions.Zip(GeneratedPapers.TopicNames), p => Assert.True(p.First >= 0.8, $"{p.Second}: precision@5 {p.First:0.00}\n{table}"));
        Assert.True(learnedPrecisions.Average() >= 2 * scorePrecisions.Average(), table.ToString());
    }
}
