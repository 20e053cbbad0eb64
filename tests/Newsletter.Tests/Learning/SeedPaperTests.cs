using System.Net;
using Dapper;
using Newsletter.Model;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Learning;

/// <summary>
/// Seeding a reader's profile without waiting for mail: the operator's <c>subscribers feedback</c> and the papers a
/// reader pastes on the preferences page (a plain form POST, no browser), in every form the identity rules accept,
/// with an unknown arXiv id looked up at <c>ArxivApiUrl</c> on a local fixture server.
/// </summary>
public sealed class SeedPaperTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Published = new(2025, 9, 8, 6, 0, 0, TimeSpan.Zero);
    private static readonly List<GeneratedPaper> Papers = GeneratedPapers.Corpus(perTopic: 1, seed: 5).Take(3).ToList();

    private FixtureServer _server = null!;
    private TestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await FixtureServer.StartAsync();
        _server.Files["/hf"] = GeneratedPapers.HuggingFaceJson(Papers, Published);
        _server.Serve("/api/query", "arxiv_api_query.xml"); // knows 2509.04664, "Why Language Models Hallucinate"
        _host = new TestHost(new() { ["Newsletter:ArxivApiUrl"] = _server.Url("/api/query") });
        _host.UseSources(("hf", "HuggingFaceDaily", _server.Url("/hf")));
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed")).Exit);
        Assert.Equal(0, (await _host.RunAsync("collect")).Exit);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task TheOperatorRecordsLikesAndDislikesByIdUrlOrDoiAndAnUnknownIdIsLookedUpAtArxiv()
    {
        var result = await _host.RunAsync("subscribers", "feedback", "ada@example.org",
            "--like", $"{Papers[0].ArxivId}, https://arxiv.org/abs/{Papers[1].ArxivId}v2,2509.04664", "--dislike", $"10.48550/arXiv.{Papers[2].ArxivId}");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains($"Like: \u201c{Papers[0].Title}\u201d", result.Output);
        Assert.Contains("Like: \u201cWhy Language Models Hallucinate\u201d", result.Output);
        Assert.Contains($"Dislike: \u201c{Papers[2].Title}\u201d", result.Output);
        Assert.Contains("ada@example.org has 4 votes; their next digest is ordered by what they liked.", result.Output);
        Assert.Equal(
            ["arxiv:2509.04664|1|operator", $"{Papers[0].CanonicalId}|1|operator", $"{Papers[1].CanonicalId}|1|operator", $"{Papers[2].CanonicalId}|-1|operator"],
            await VotesAsync());
        Assert.Contains(_server.Requests, r => r.Path == "/api/query");
        // The looked-up paper teaches the ranking but is never news: first seen at 0, under its own source name.
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT first_seen_at FROM entries WHERE canonical_id = 'arxiv:2509.04664'"));
        Assert.Equal("arxiv-lookup", await _host.QueryScalarAsync<string>("SELECT source FROM entries WHERE canonical_id = 'arxiv:2509.04664'"));

        // A second vote on a paper replaces the first, and says so.
        var changed = await _host.RunAsync("subscribers", "feedback", "ada@example.org", "--dislike", Papers[0].ArxivId);
        Assert.Contains($"Dislike: \u201c{Papers[0].Title}\u201d (was like)", changed.Output);
        Assert.Equal(4L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));
    }

    [Theory]
    [InlineData("2509.99999", "--like 2509.99999: arXiv does not know arxiv:2509.99999.")]
    [InlineData("10.1000/journal.42", "--like 10.1000/journal.42: doi:10.1000/journal.42 has not been collected here; only arXiv papers can be looked up.")]
    [InlineData("not a paper at all", "--like not a paper at all: 'not a paper at all' is not an arXiv id, a DOI or a link to a paper, nor the title of a collected paper.")]
    public async Task AnUnknownPaperIsRefusedWithOneLineAndNothingIsRecorded(string id, string line)
    {
        var result = await _host.RunAsync("subscribers", "feedback", "ada@example.org", "--like", $"{Papers[0].ArxivId},{id}");

        Assert.Equal(1, result.Exit);
        Assert.Equal([line, "Nothing was recorded."], result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));
    }

    [Fact]
    public async Task ArxivDownOrLookupsOffOrNoReaderAreOneLineEach()
    {
        _server.Files["/api/query"] = null; // a 500
        var down = await _host.RunAsync("subscribers", "feedback", "ada@example.org", "--like", "2509.04664");
        Assert.Equal(1, down.Exit);
        Assert.Contains("--like 2509.04664: arxiv:2509.04664 is not collected here and arXiv answered HTTP 500; try again later.", down.Error);

        _host.Set("Newsletter:ArxivApiUrl", "");
        var off = await _host.RunAsync("subscribers", "feedback", "ada@example.org", "--like", "2509.04664");
        Assert.Contains("arxiv:2509.04664 has not been collected here and arXiv lookups are off (ArxivApiUrl is empty).", off.Error);

        var nobody = await _host.RunAsync("subscribers", "feedback", "nobody@example.org", "--like", Papers[0].ArxivId);
        Assert.Equal(1, nobody.Exit);
        Assert.Equal("nobody@example.org is not a subscriber.", nobody.Error.Trim());

        var nothing = await _host.RunAsync("subscribers", "feedback", "ada@example.org");
        Assert.Equal(1, nothing.Exit);
        Assert.Contains("Nothing to record", nothing.Error);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));
    }

    [Fact]
    public async Task PapersPastedOnThePreferencesPageAreSeedsAndOneUnknownLineSavesNothing()
    {
        var baseUrl = await _host.StartServiceAsync();
        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var page = "/preferences?token=" + Uri.EscapeDataString(_host.Service<LinkTokens>().Create(TokenPurpose.Preferences, id));
        using var browser = new FormClient(baseUrl);

        var (refused, refusedPage) = await browser.SubmitAsync(page, "/preferences", new()
        {
            ["likes"] = $"{Papers[0].ArxivId}\nno such paper anywhere",
            ["ranking"] = "learned",
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("&#39;no such paper anywhere&#39; is not an arXiv id, a DOI or a link to a paper, nor the title of a collected paper.", refusedPage);
        Assert.Contains("no such paper anywhere</textarea>", refusedPage); // the reader's text comes back as typed
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));
        Assert.Equal("auto", await _host.QueryScalarAsync<string>("SELECT COALESCE(ranking, 'auto') FROM subscribers WHERE email = 'ada@example.org'"));

        var (saved, savedPage) = await browser.SubmitAsync(page, "/preferences", new()
        {
            // An id, a link, a title (any case), and an unknown id looked up at arXiv.
            ["likes"] = $"{Papers[0].ArxivId}\r\nhttps://arxiv.org/abs/{Papers[1].ArxivId}\r\n{Papers[2].Title.ToUpperInvariant()}\r\n2509.04664",
            ["ranking"] = "learned",
            ["minRelevance"] = "0.25",
        });
        Assert.True(saved.StatusCode == HttpStatusCode.OK, savedPage);
        Assert.Equal(
            ["arxiv:2509.04664|1|seed", $"{Papers[0].CanonicalId}|1|seed", $"{Papers[1].CanonicalId}|1|seed", $"{Papers[2].CanonicalId}|1|seed"],
            await VotesAsync());
        Assert.Equal("learned", await _host.QueryScalarAsync<string>("SELECT ranking FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal(0.25, await _host.QueryScalarAsync<double>("SELECT min_relevance FROM subscribers WHERE email = 'ada@example.org'"), 6);
    }

    [Fact]
    public async Task ANewcomersSeedFromTodaysPapersIsNotItsOwnReasonInTheFirstDigest()
    {
        // Vectors written directly (the model is Off here): paper 1 close to paper 0, paper 2 far from both.
        await using (var connection = await _host.OpenAsync())
            foreach (var (paper, vector) in Papers.Zip(new[] { Axis((0, 1)), Axis((0, 0.8f), (1, 0.6f)), Axis((2, 1)) }))
                await connection.ExecuteAsync("UPDATE entries SET embedding = @embedding WHERE canonical_id = @id", new { id = paper.CanonicalId, embedding = PaperVector.ToBytes(vector) });
        Assert.Equal(0, (await _host.RunAsync("subscribers", "feedback", "ada@example.org", "--like", Papers[0].ArxivId)).Exit);

        var send = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.True(send.Exit == 0, send.ToString());
        await using var db = await _host.OpenAsync();
        var whys = (await db.QueryAsync<(string Id, string Why)>("""
            SELECT e.canonical_id, de.why FROM digest_entries de JOIN entries e ON e.id = de.entry_id ORDER BY de.position
            """)).ToList();
        Assert.Equal(3, whys.Count);
        Assert.DoesNotContain(whys, w => w.Why.Contains($"like \u201c{Papers[0].Title}\u201d") && w.Id == Papers[0].CanonicalId);
        Assert.Contains(whys, w => w.Id == Papers[1].CanonicalId && w.Why.Contains($"like \u201c{Papers[0].Title}\u201d"));
    }

    private static float[] Axis(params (int Axis, float Weight)[] parts)
    {
        var vector = new float[PaperVector.Dimensions];
        foreach (var (axis, weight) in parts)
            vector[axis] = weight;
        return PaperVector.Normalised(vector);
    }

    private async Task<List<string>> VotesAsync()
    {
        await using var connection = await _host.OpenAsync();
        return (await connection.QueryAsync<string>("""
            SELECT e.canonical_id || '|' || CAST(v.vote AS TEXT) || '|' || v.origin FROM votes v JOIN entries e ON e.id = v.entry_id ORDER BY e.canonical_id
            """)).ToList();
    }
}
