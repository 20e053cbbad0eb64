using System.Net;
using System.Text.RegularExpressions;
using Dapper;
using MimeKit;
using Newsletter.Model;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Learning;

/// <summary>
/// "More like this" from a delivered digest to the next day's order: the running service, a real SMTP server, the
/// shipped templates, the links followed as a browser (GET the page, POST its form) and as a link scanner (GET only)
/// would. The vectors are written straight into <c>entries.embedding</c> (the model is Off here), chosen so that
/// each paper's similarity to the liked one is known exactly; the real model has its own tests
/// (<see cref="EmbeddingTests"/>, <see cref="RankingQualityTests"/>).
/// </summary>
public sealed partial class FeedbackEndToEndTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Published = new(2025, 9, 8, 6, 0, 0, TimeSpan.Zero);

    // Day 1: the paper the readers vote on, and two others.
    private static readonly GeneratedPaper Liked = Paper("2601.00001", "Decoding Surface Codes With Belief Propagation", 10);
    private static readonly GeneratedPaper Other1 = Paper("2601.00002", "Quadruped Locomotion From Teleoperated Demonstrations", 30);
    private static readonly GeneratedPaper Other2 = Paper("2601.00003", "Seasonal Forecasts From Reanalysis Transformers", 20);

    // Day 2: two near neighbours of the liked paper with few upvotes, two far ones with many.
    private static readonly GeneratedPaper Near1 = Paper("2601.00011", "Neural Decoders For Stabilizer Measurements", 60);
    private static readonly GeneratedPaper Near2 = Paper("2601.00012", "Lattice Surgery Scheduling Under Leakage", 2);
    private static readonly GeneratedPaper Far1 = Paper("2601.00013", "Antibody Design With Inverse Folding", 100);
    private static readonly GeneratedPaper Far2 = Paper("2601.00014", "Streaming Diarization With Transducers", 50);

    private FixtureServer _feeds = null!;
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private string _baseUrl = "";

    private static GeneratedPaper Paper(string id, string title, int upvotes) =>
        new(id, "", title, $"An abstract of {title.ToLowerInvariant()}.", upvotes, ["Ada Lovelace"]);

    /// <summary>Unit vectors over a few axes: axis 0 is the liked paper's direction.</summary>
    private static float[] Vector(params (int Axis, float Weight)[] parts)
    {
        var vector = new float[PaperVector.Dimensions];
        foreach (var (axis, weight) in parts)
            vector[axis] = weight;
        return PaperVector.Normalised(vector);
    }

    private static readonly Dictionary<string, float[]> Vectors = new()
    {
        [Liked.CanonicalId] = Vector((0, 1)),
        [Other1.CanonicalId] = Vector((5, 1)),
        [Other2.CanonicalId] = Vector((6, 1)),
        [Near1.CanonicalId] = Vector((0, 0.9f), (1, 0.44f)),  // similarity 0.9
        [Near2.CanonicalId] = Vector((0, 0.7f), (2, 0.71f)),  // 0.7
        [Far1.CanonicalId] = Vector((3, 1)),                  // 0
        [Far2.CanonicalId] = Vector((4, 1)),                  // 0
    };

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson([Liked, Other1, Other2], Published);
        _host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url("/hf")));
        _host.UseSmtp(_smtp.Port);
        _baseUrl = await _host.StartServiceAsync();
        foreach (var address in (string[])["ada@example.org", "grace@example.org", "alan@example.org"])
            Assert.Equal(0, (await _host.RunAsync("subscribers", "add", address, "--confirmed")).Exit);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
        await _feeds.DisposeAsync();
    }

    [Fact]
    public async Task AVoteFromTheMailIsRecordedByItsButtonNotByTheLinkAndOrdersTheNextDigest()
    {
        await CollectAsync();
        Assert.Equal(0, (await _host.RunAsync("send-now", "--date", "2025-09-08")).Exit);
        var adaLink = FeedbackLink(Digest("ada@example.org"), Liked.Title, more: true);
        var graceMore = FeedbackLink(Digest("grace@example.org"), Liked.Title, more: true);
        var graceLess = FeedbackLink(Digest("grace@example.org"), Liked.Title, more: false);
        Assert.StartsWith(_baseUrl + "/feedback?token=", adaLink);
        // Both parts carry the same links.
        Assert.Contains(adaLink, Digest("ada@example.org").TextBody);

        // A link scanner opens every link of the mail: the page, and nothing recorded.
        using (var scanner = new HttpClient())
            foreach (var link in new[] { adaLink, graceMore, graceLess })
            {
                var scanned = await scanner.GetAsync(link);
                Assert.Equal(HttpStatusCode.OK, scanned.StatusCode);
            }
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));

        // The reader: the page shows one button; its form records the vote.
        using var browser = new FormClient(_baseUrl);
        var (pageResponse, page) = await browser.GetAsync(adaLink);
        Assert.Equal(HttpStatusCode.OK, pageResponse.StatusCode);
        Assert.Single(Regex.Matches(page, "<button"));
        Assert.Contains(WebUtility.HtmlEncode(Liked.Title), page);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));
        var (recorded, thanks) = await PressTheButtonAsync(browser, adaLink);
        Assert.Equal(HttpStatusCode.OK, recorded.StatusCode);
        Assert.Contains("Thanks, noted", thanks);
        Assert.Equal(["ada@example.org|arxiv:2601.00001|1|mail"], await VotesAsync());

        // A vote can be changed (less after more): the page says what changed and links to the preferences.
        await PressTheButtonAsync(browser, graceMore);
        var (_, changed) = await PressTheButtonAsync(browser, graceLess);
        Assert.Contains("This replaces your earlier \u201cmore like this\u201d.", changed);
        Assert.Matches("href=\"[^\"]*/preferences\\?token=[A-Za-z0-9_\\-]+\"", changed);
        var (_, same) = await PressTheButtonAsync(browser, graceLess);
        Assert.Contains("You had already said so; nothing changed.", same);
        Assert.Equal(["ada@example.org|arxiv:2601.00001|1|mail", "grace@example.org|arxiv:2601.00001|-1|mail"], await VotesAsync());

        // Day 2: ada's order follows her vote (the liked paper's nearest neighbours first, and the why line names it);
        // grace's puts them last; alan, who never voted, keeps the order by upvotes.
        _feeds.Files["/hf"] = GeneratedPapers.HuggingFaceJson([Near1, Near2, Far1, Far2], Published.AddDays(1));
        await CollectAsync();
        Assert.Equal(0, (await _host.RunAsync("send-now", "--date", "2025-09-09")).Exit);
        Assert.Equal([Near1.Title, Near2.Title, Far1.Title, Far2.Title], Order(Digest("ada@example.org", 2)));
        Assert.Equal([Far1.Title, Far2.Title, Near2.Title, Near1.Title], Order(Digest("grace@example.org", 2)));
        Assert.Equal([Far1.Title, Near1.Title, Far2.Title, Near2.Title], Order(Digest("alan@example.org", 2)));
        Assert.Contains($"like \u201c{Liked.Title}\u201d", Digest("ada@example.org", 2).TextBody);
        Assert.DoesNotContain("like \u201c", Digest("grace@example.org", 2).TextBody);
    }

    [Fact]
    public async Task ATamperedOrForeignTokenIsRefusedWithTheInvalidLinkPageAndRecordsNothing()
    {
        await CollectAsync();
        Assert.Equal(0, (await _host.RunAsync("send-now", "--date", "2025-09-08")).Exit);
        var genuine = FeedbackLink(Digest("ada@example.org"), Liked.Title, more: true);
        var token = genuine[(genuine.IndexOf("token=", StringComparison.Ordinal) + "token=".Length)..];
        var adaId = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var likedId = await _host.QueryScalarAsync<long>($"SELECT id FROM entries WHERE canonical_id = '{Liked.CanonicalId}'");
        var tokens = _host.Service<LinkTokens>();
        await using var elsewhere = new TestHost();
        Assert.Equal(0, (await elsewhere.RunAsync("subscribers", "add", "ada@example.org", "--confirmed")).Exit);
        var refused = new Dictionary<string, string>
        {
            ["one character changed"] = token[..20] + (token[20] == 'A' ? 'B' : 'A') + token[21..],
            ["cut short"] = token[..^4],
            ["the same reader's preferences token"] = tokens.Create(TokenPurpose.Preferences, adaId),
            ["the same reader's unsubscribe token"] = tokens.Create(TokenPurpose.Unsubscribe, adaId),
            ["a paper that does not exist"] = tokens.Create(TokenPurpose.MoreLike, adaId, episode: likedId + 1000),
            ["a reader who does not exist"] = tokens.Create(TokenPurpose.MoreLike, adaId + 1000, episode: likedId),
            ["another installation's key"] = elsewhere.Service<LinkTokens>().Create(TokenPurpose.MoreLike, adaId, episode: likedId),
            ["expired"] = tokens.Create(TokenPurpose.MoreLike, adaId, DateTimeOffset.UtcNow.AddMinutes(-1), likedId),
        };

        using var http = new HttpClient { BaseAddress = new Uri(_baseUrl) };
        foreach (var (what, bad) in refused)
        {
            var url = "/feedback?token=" + Uri.EscapeDataString(bad);
            var get = await http.GetAsync(url);
            var post = await http.PostAsync(url, new FormUrlEncodedContent([]));
            Assert.True(get.StatusCode == HttpStatusCode.BadRequest, $"GET with {what}: {(int)get.StatusCode}");
            Assert.True(post.StatusCode == HttpStatusCode.BadRequest, $"POST with {what}: {(int)post.StatusCode}");
            Assert.Contains("Link invalid or expired", await post.Content.ReadAsStringAsync());
        }
        // A token in the form instead of the query is read the same way, and refused the same way.
        var inForm = await http.PostAsync("/feedback", new FormUrlEncodedContent([new("token", refused["one character changed"])]));
        Assert.Equal(HttpStatusCode.BadRequest, inForm.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/feedback", null)).StatusCode);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));

        // The genuine token still works, for its own reader and paper only.
        var ok = await http.PostAsync("/feedback?token=" + token, null);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(["ada@example.org|arxiv:2601.00001|1|mail"], await VotesAsync());
    }

    private async Task CollectAsync()
    {
        var collect = await _host.RunAsync("collect");
        Assert.True(collect.Exit == 0, collect.ToString());
        Assert.Contains("Learned ranking: off (Ranking:Model is Off), papers are ordered by score", collect.Output);
        await using var connection = await _host.OpenAsync();
        foreach (var (id, vector) in Vectors)
            await connection.ExecuteAsync("UPDATE entries SET embedding = @embedding WHERE canonical_id = @id", new { id, embedding = PaperVector.ToBytes(vector) });
    }

    private MimeMessage Digest(string address, int day = 1)
    {
        var messages = _smtp.To(address);
        Assert.True(messages.Count >= day, $"{address} has {messages.Count} messages, not {day}");
        return messages[day - 1];
    }

    [GeneratedRegex("<a href=\"(?<url>[^\"]+)\"[^>]*>(?<label>More|Less) like this</a>")]
    private static partial Regex VoteLink();

    /// <summary>The paper's "more like this" (or "less") link in the HTML part: the first after its title.</summary>
    private static string FeedbackLink(MimeMessage message, string title, bool more)
    {
        var html = message.HtmlBody!;
        var at = html.IndexOf(WebUtility.HtmlEncode(title), StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{title}' is not in the digest");
        var link = VoteLink().Matches(html, at).FirstOrDefault(m => m.Groups["label"].Value == (more ? "More" : "Less"));
        Assert.True(link is not null, $"no '{(more ? "More" : "Less")} like this' link after '{title}' in:\n{html[at..Math.Min(html.Length, at + 3000)]}");
        return WebUtility.HtmlDecode(link.Groups["url"].Value);
    }

    /// <summary>The titles of the generated papers in the order the text part shows them.</summary>
    private static List<string> Order(MimeMessage message)
    {
        var text = message.TextBody!;
        return new[] { Near1, Near2, Far1, Far2 }.Select(p => (p.Title, At: text.IndexOf(p.Title, StringComparison.Ordinal)))
            .Where(p => p.At >= 0).OrderBy(p => p.At).Select(p => p.Title).ToList();
    }

    [GeneratedRegex("<form method=\"post\" action=\"(?<action>[^\"]+)\"")]
    private static partial Regex PostForm();

    /// <summary>As a browser: the page, then its one form posted with its fields (none but what the action carries).</summary>
    private static async Task<(HttpResponseMessage Response, string Body)> PressTheButtonAsync(FormClient browser, string link)
    {
        var (_, page) = await browser.GetAsync(link);
        var action = WebUtility.HtmlDecode(Assert.Single(PostForm().Matches(page)).Groups["action"].Value);
        var response = await browser.Http.PostAsync(action, new FormUrlEncodedContent([]));
        return (response, await response.Content.ReadAsStringAsync());
    }

    private async Task<List<string>> VotesAsync()
    {
        await using var connection = await _host.OpenAsync();
        return (await connection.QueryAsync<string>("""
            SELECT s.email || '|' || e.canonical_id || '|' || CAST(v.vote AS TEXT) || '|' || v.origin
            FROM votes v JOIN subscribers s ON s.id = v.subscriber_id JOIN entries e ON e.id = v.entry_id ORDER BY s.email
            """)).ToList();
    }
}
