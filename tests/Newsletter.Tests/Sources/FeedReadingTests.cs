using System.Text;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

/// <summary>Feeds as they come from real servers (encodings, BOMs, DOCTYPEs, odd ids), served from 127.0.0.1 and collected through the CLI.</summary>
public sealed class FeedReadingTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private FixtureServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _host.DisposeAsync();
    }

    private static string Rss(string items, string channelLink = "https://news.example.org/") =>
        $"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title><link>{channelLink}</link>{items}</channel></rss>""";

    private async Task<CliResult> CollectAsync(params (string Name, string Kind, byte[] Body)[] feeds)
    {
        foreach (var feed in feeds)
            _server.Files["/" + feed.Name] = feed.Body;
        _host.UseSources(feeds.Select(f => (f.Name, f.Kind, _server.Url("/" + f.Name))).ToArray());
        return await _host.RunAsync("collect");
    }

    private async Task<List<(string Id, string Title, string Url, string Authors)>> EntriesAsync()
    {
        await using var connection = await _host.Service<Newsletter.Storage.Database>().OpenAsync(CancellationToken.None);
        var rows = await Dapper.SqlMapper.QueryAsync<(string, string, string, string)>(connection, "SELECT canonical_id, title, url, authors FROM entries ORDER BY canonical_id");
        return rows.ToList();
    }

    [Fact]
    public async Task NumbersThatLookLikeArxivIdsInOrdinaryFeedsKeepTheirOwnIdentityAndLink()
    {
        var a = Rss("""
            <item><title>Local council story</title><guid isPermaLink="false">story/1234567</guid><link>https://a.example.org/local/council</link></item>
            <item><title>Budget for 2026</title><guid isPermaLink="false">2026.12345</guid><link>https://a.example.org/budget</link></item>
            """);
        var b = Rss("""
            <item><title>Cat rescued</title><guid isPermaLink="false">story/1234567</guid><link>https://b.example.org/cats/rescued</link></item>
            <item><title>Sports results</title><guid isPermaLink="false">2026.12345</guid><link>https://b.example.org/sports</link></item>
            <item><title>A real paper</title><guid isPermaLink="false">arXiv:2509.04664</guid><link>https://b.example.org/review/hallucinate</link></item>
            """);

        Assert.Equal(0, (await CollectAsync(("a", "Rss", Encoding.UTF8.GetBytes(a)), ("b", "Rss", Encoding.UTF8.GetBytes(b)))).Exit);

        var entries = await EntriesAsync();
        Assert.Equal(5, entries.Count);
        Assert.Equal(["arxiv:2509.04664"], entries.Where(e => e.Id.StartsWith("arxiv:", StringComparison.Ordinal)).Select(e => e.Id));
        Assert.Contains(entries, e => e.Title == "Local council story" && e.Url == "https://a.example.org/local/council");
        Assert.Contains(entries, e => e.Title == "Cat rescued" && e.Url == "https://b.example.org/cats/rescued");
        Assert.Contains(entries, e => e.Title == "Sports results" && e.Url == "https://b.example.org/sports");
        // An arXiv paper reviewed elsewhere keeps the reviewer's link as its URL.
        Assert.Contains(entries, e => e.Id == "arxiv:2509.04664" && e.Url == "https://b.example.org/review/hallucinate");
    }

    [Fact]
    public async Task AnArxivFeedMayWriteBareNewStyleIds()
    {
        var feed = Rss("""<item><title>Bare</title><guid isPermaLink="false">2509.04664v2</guid></item>""", "https://arxiv.org/list/cs.LG/new");

        Assert.Equal(0, (await CollectAsync(("arxiv", "Rss", Encoding.UTF8.GetBytes(feed)))).Exit);

        var entry = Assert.Single(await EntriesAsync());
        Assert.Equal(("arxiv:2509.04664", "https://arxiv.org/abs/2509.04664"), (entry.Id, entry.Url));
    }

    [Fact]
    public async Task AWindows1252FeedIsRead()
    {
        var xml = """<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>t</title><link>https://news.example.org/</link><item><title>Café “quoted” – €5</title><link>https://news.example.org/cafe</link></item></channel></rss>""";
        var body = System.Text.CodePagesEncodingProvider.Instance.GetEncoding(1252)!.GetBytes(xml);

        var result = await CollectAsync(("cp1252", "Rss", body));

        Assert.DoesNotContain("FAILED", result.Output + result.Error);
        Assert.Equal("Café “quoted” – €5", Assert.Single(await EntriesAsync()).Title);
    }

    [Theory]
    [InlineData("JsonFeed")]
    [InlineData("Auto")]
    [InlineData("HuggingFaceDaily")]
    public async Task AJsonSourceWithAUtf8ByteOrderMarkIsRead(string kind)
    {
        var json = kind == "HuggingFaceDaily"
            ? """[{"paper":{"id":"2509.04664","title":"With a BOM","summary":"s","upvotes":3}}]"""
            : """{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","url":"https://blog.example.org/1","title":"With a BOM"}]}""";
        var body = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(json)).ToArray();

        var result = await CollectAsync(("bom", kind, body));

        Assert.DoesNotContain("FAILED", result.Output + result.Error);
        Assert.Equal("With a BOM", Assert.Single(await EntriesAsync()).Title);
    }

    [Fact]
    public async Task TheHttpCharsetAppliesWhenTheXmlPrologNamesNoEncoding()
    {
        var xml = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://news.example.org/</link><item><title>Naïve Gödel été</title><link>https://news.example.org/1</link></item></channel></rss>""";
        _server.ContentTypes["/latin1"] = "text/xml; charset=ISO-8859-1";

        var result = await CollectAsync(("latin1", "Rss", Encoding.Latin1.GetBytes(xml)));

        Assert.DoesNotContain("FAILED", result.Output + result.Error);
        Assert.Equal("Naïve Gödel été", Assert.Single(await EntriesAsync()).Title);
    }

    [Fact]
    public async Task TheXmlPrologsEncodingWinsOverTheHttpCharset()
    {
        var xml = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://news.example.org/</link><item><title>Gödel</title><link>https://news.example.org/1</link></item></channel></rss>""";
        _server.ContentTypes["/utf8"] = "text/xml; charset=ISO-8859-1";

        var result = await CollectAsync(("utf8", "Rss", Encoding.UTF8.GetBytes(xml)));

        Assert.DoesNotContain("FAILED", result.Output + result.Error);
        Assert.Equal("Gödel", Assert.Single(await EntriesAsync()).Title);
    }

    [Fact]
    public async Task HtmlInRssTitlesIsReadAsHtml()
    {
        var feed = Rss("""
            <item><title><![CDATA[A quantum <i>thing</i> &amp; more]]></title><link>https://news.example.org/1</link></item>
            <item><title>Entity &amp;amp; &lt;b&gt;bold&lt;/b&gt;</title><link>https://news.example.org/2</link></item>
            <item><title>Plain: a &lt; b and AT&amp;T</title><link>https://news.example.org/3</link></item>
            """);

        Assert.Equal(0, (await CollectAsync(("html", "Rss", Encoding.UTF8.GetBytes(feed)))).Exit);

        var titles = (await EntriesAsync()).OrderBy(e => e.Url).Select(e => e.Title).ToArray();
        Assert.Equal(["A quantum thing & more", "Entity & bold", "Plain: a < b and AT&T"], titles);
    }

    [Fact]
    public async Task PermalinkGuidsRelativeLinksAndSurnameInitialAuthorsAreRead()
    {
        var feed = Rss("""
            <item><title>Guid only</title><guid>https://news.example.org/guid-only</guid></item>
            <item><title>Not a permalink</title><guid isPermaLink="false">https://news.example.org/not-permalink</guid><description>x</description></item>
            <item><title>Relative</title><link>/articles/123</link></item>
            <item><title>bioRxiv</title><link>https://news.example.org/biorxiv</link><dc:creator>Smith, A., Jones, B. C., van der Berg, K.-L.</dc:creator></item>
            """, "https://news.example.org/feed/");

        Assert.Equal(0, (await CollectAsync(("misc", "Rss", Encoding.UTF8.GetBytes(feed)))).Exit);

        var entries = await EntriesAsync();
        Assert.Equal("https://news.example.org/guid-only", entries.Single(e => e.Title == "Guid only").Url);
        Assert.Equal("", entries.Single(e => e.Title == "Not a permalink").Url);
        Assert.Equal("https://news.example.org/articles/123", entries.Single(e => e.Title == "Relative").Url);
        Assert.Equal("Smith, A.\nJones, B. C.\nvan der Berg, K.-L.", entries.Single(e => e.Title == "bioRxiv").Authors);
    }

    [Fact]
    public async Task AFutureDateIsClampedSoAFeedCannotRankItselfFirst()
    {
        var feed = Rss("""<item><title>From the future</title><link>https://news.example.org/future</link><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>""");

        Assert.Equal(0, (await CollectAsync(("future", "Rss", Encoding.UTF8.GetBytes(feed)))).Exit);

        var published = await _host.QueryScalarAsync<long>("SELECT published_at FROM entries");
        Assert.InRange(Newsletter.Storage.DbTime.FromDb(published), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    [Fact]
    public async Task ARedirectLoopIsReportedAsTooManyRedirects()
    {
        _server.Redirects["/loop"] = _server.Url("/loop");
        _host.UseSources(("loop", "Rss", _server.Url("/loop")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("loop: FAILED: too many redirects", result.Error);
    }

    [Fact]
    public async Task ATitleTakenFromTheSummaryGivesWayToARealTitleFromALaterSource()
    {
        var untitled = Rss("""<item><description>We study sparse mixtures of experts at scale and find that routing collapses unless the load-balancing loss is tuned per layer, which we do.</description><link>https://news.example.org/p/1</link></item>""");
        var titled = Rss("""<item><title>Sparse mixtures, revisited</title><description>Another abstract.</description><link>https://news.example.org/p/1</link></item>""");
        Assert.Equal(0, (await CollectAsync(("untitled", "Rss", Encoding.UTF8.GetBytes(untitled)))).Exit);
        Assert.StartsWith("We study sparse mixtures", Assert.Single(await EntriesAsync()).Title);

        Assert.Equal(0, (await CollectAsync(("untitled", "Rss", Encoding.UTF8.GetBytes(untitled)), ("titled", "Rss", Encoding.UTF8.GetBytes(titled)))).Exit);
        Assert.Equal("Sparse mixtures, revisited", Assert.Single(await EntriesAsync()).Title);

        // A real title is never replaced by a later source's.
        var other = Rss("""<item><title>Another title</title><link>https://news.example.org/p/1</link></item>""");
        Assert.Equal(0, (await CollectAsync(("other", "Rss", Encoding.UTF8.GetBytes(other)))).Exit);
        Assert.Equal("Sparse mixtures, revisited", Assert.Single(await EntriesAsync()).Title);
    }
}

