using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

public sealed class CollectorTests : IAsyncLifetime
{
    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync() => _feeds = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _feeds.DisposeAsync();
        await _host.DisposeAsync();
    }

    private async Task<CliResult> CollectAsync(params (string Name, string Kind, string Path, string Fixture)[] sources)
    {
        foreach (var source in sources)
            _feeds.Serve(source.Path, source.Fixture);
        _host.UseSources(sources.Select(s => (s.Name, s.Kind, _feeds.Url(s.Path))).ToArray());
        var result = await _host.RunAsync("collect");
        Assert.True(result.Exit == 0 && !(result.Output + result.Error).Contains("FAILED"), result.ToString());
        return result;
    }

    private Task<List<(string CanonicalId, string Title, string Summary, string Authors, string Url, long Score)>> EntriesAsync() =>
        EntryQueries.AllAsync(_host);

    [Fact]
    public async Task HuggingFaceDailyPapersAreStoredWithUpvotesAndVisibleAuthors()
    {
        await CollectAsync(("hf", "HuggingFaceDaily", "/api/daily_papers", "hf_daily_papers.json"));

        var entries = await EntriesAsync();
        Assert.Equal(2, entries.Count);
        var hallucinate = entries.Single(e => e.CanonicalId == "arxiv:2509.04664");
        Assert.Equal("Why Language Models Hallucinate", hallucinate.Title);
        Assert.Equal(26, hallucinate.Score);
        Assert.Equal("Adam Tauman Kalai\nOfir Nachum\nSantosh S. Vempala\nEdwin Zhang", hallucinate.Authors);
        Assert.Equal("https://arxiv.org/abs/2509.04664", hallucinate.Url);
        Assert.StartsWith("Like students facing hard exam questions, large language models sometimes guess", hallucinate.Summary);
        var composed = entries.Single(e => e.CanonicalId == "arxiv:2509.01234");
        Assert.Equal("Jane Q. Researcher", composed.Authors); // the hidden co-author is not shown
    }

    [Fact]
    public async Task ArxivRssItemsKeepTheAbstractAndSplitCreators()
    {
        await CollectAsync(("rss", "Rss", "/rss/cs.AI", "arxiv_rss_cs.AI.xml"));

        var entries = await EntriesAsync();
        Assert.Equal(["arxiv:2203.01250", "arxiv:2509.04664", "arxiv:2509.05001"], entries.Select(e => e.CanonicalId).Order());
        var first = entries.Single(e => e.CanonicalId == "arxiv:2509.04664");
        Assert.Equal("Adam Tauman Kalai\nOfir Nachum\nSantosh S. Vempala\nEdwin Zhang", first.Authors);
        Assert.StartsWith("Like students facing hard exam questions", first.Summary);
        Assert.EndsWith(@"\geq 2\epsilon$ & more.", first.Summary);
        Assert.DoesNotContain("Announce Type", first.Summary);
    }

    [Fact]
    public async Task ArxivApiEntriesLoseVersionAndHardLineBreaks()
    {
        await CollectAsync(("api", "ArxivApi", "/api/query", "arxiv_api_query.xml"));

        var entry = Assert.Single(await EntriesAsync());
        Assert.Equal("arxiv:2509.04664", entry.CanonicalId);
        Assert.Equal("Why Language Models Hallucinate", entry.Title);
        Assert.Equal("Like students facing hard exam questions, large language models sometimes guess when uncertain, producing plausible yet incorrect statements.", entry.Summary);
        Assert.Equal("Adam Tauman Kalai\nSantosh S. Vempala", entry.Authors);
    }

    [Fact]
    public async Task JsonFeedAcceptsAuthorsAndTheOlderAuthorField()
    {
        await CollectAsync(("lab", "JsonFeed", "/feed.json", "jsonfeed_1_1.json"));

        var entries = await EntriesAsync();
        Assert.Equal(2, entries.Count);
        var paper = entries.Single(e => e.CanonicalId == "arxiv:2509.04664");
        Assert.Equal("Adam Tauman Kalai\nEdwin Zhang", paper.Authors);
        Assert.Equal("LMs guess when uncertain because evaluations reward guessing.", paper.Summary);
        var micro = entries.Single(e => e.CanonicalId != "arxiv:2509.04664");
        Assert.Equal("Legacy v1 author field", micro.Authors);
        Assert.Equal("Micro-post without title; v1-style author below.", micro.Title);
    }

    [Theory]
    [InlineData("hf_daily_papers.json", 2)]
    [InlineData("arxiv_rss_cs.AI.xml", 3)]
    [InlineData("arxiv_api_query.xml", 1)]
    [InlineData("jsonfeed_1_1.json", 2)]
    public async Task AutoDetectsEveryFormat(string fixture, int expected)
    {
        await CollectAsync(("auto", "Auto", "/" + fixture, fixture));

        Assert.Equal(expected, (await EntriesAsync()).Count);
    }

    [Fact]
    public async Task ArxivApiErrorFeedFailsTheSourceAndStoresNothing()
    {
        _feeds.Serve("/api/error", "arxiv_api_error.xml");
        _host.UseSources(("api", "ArxivApi", _feeds.Url("/api/error")));

        var result = await _host.RunAsync("collect");

        Assert.Equal(1, result.Exit); // its only source failed
        Assert.Contains("api: FAILED: arXiv API error: incorrect id format for 1234.12345", result.Error);
        Assert.Empty(await EntriesAsync());
    }

    [Fact]
    public async Task UnchangedFeedIsAnsweredNotModifiedAndStoresNothingNew()
    {
        await CollectAsync(("rss", "Rss", "/rss", "arxiv_rss_cs.AI.xml"));
        var before = await EntriesAsync();

        var second = await _host.RunAsync("collect");

        Assert.Contains("rss: not modified", second.Output);
        Assert.Equal(before, await EntriesAsync());
        var requests = _feeds.Requests.ToArray();
        Assert.Null(requests[0].IfNoneMatch);
        Assert.NotNull(requests[^1].IfNoneMatch);
    }

    [Fact]
    public async Task OneFailingSourceDoesNotStopTheOthers()
    {
        _feeds.Serve("/good", "hf_daily_papers.json");
        _feeds.Files["/broken"] = null; // HTTP 500
        _feeds.Files["/garbage"] = "<html><body>not a feed"u8.ToArray();
        _host.UseSources(
            ("broken", "Rss", _feeds.Url("/broken")),
            ("garbage", "Auto", _feeds.Url("/garbage")),
            ("refused", "Rss", "http://127.0.0.1:1/feed"),
            ("good", "HuggingFaceDaily", _feeds.Url("/good")));

        var result = await _host.RunAsync("collect");

        Assert.Equal(0, result.Exit);
        Assert.Contains("broken: FAILED: HTTP 500", result.Error);
        Assert.Contains("garbage: FAILED:", result.Error);
        Assert.Contains("refused: FAILED: unreachable", result.Error);
        Assert.Contains("good: 2 entries, 2 new", result.Output);
        Assert.Equal(2, (await EntriesAsync()).Count);
    }

    [Fact]
    public async Task FileUrlsAreReadAndUnchangedFilesAreNotReparsed()
    {
        var copy = Path.Combine(_host.Directory, "feed.json");
        File.Copy(Fixtures.PathOf("jsonfeed_1_1.json"), copy);
        _host.UseSources(("local", "Auto", new Uri(copy).AbsoluteUri));

        var first = await _host.RunAsync("collect");
        var second = await _host.RunAsync("collect");

        Assert.Contains("local: 2 entries, 2 new", first.Output);
        Assert.Contains("local: not modified", second.Output);
    }

    [Fact]
    public async Task DocumentTypeDefinitionsAreRefused()
    {
        _feeds.Files["/xxe"] = """
            <?xml version="1.0"?>
            <!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <rss version="2.0"><channel><title>t</title><item><title>&xxe;</title><link>https://example.org/a</link></item></channel></rss>
            """u8.ToArray();
        _host.UseSources(("xxe", "Rss", _feeds.Url("/xxe")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("xxe: FAILED: invalid XML", result.Error);
        Assert.Empty(await EntriesAsync());
    }

    [Fact]
    public async Task EntityExpansionBombsAreRefusedBeforeExpanding()
    {
        _feeds.Files["/lol"] = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [
              <!ENTITY lol "lol">
              <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
              <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
              <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
              <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
              <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
              <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
              <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
              <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
            ]>
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
              <item rdf:about="https://example.org/a"><title>&lol9;</title></item>
            </rdf:RDF>
            """u8.ToArray();
        _feeds.Serve("/good", "hf_daily_papers.json");
        _host.UseSources(("lol", "Auto", _feeds.Url("/lol")), ("good", "HuggingFaceDaily", _feeds.Url("/good")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("lol: FAILED: invalid XML", result.Error);
        Assert.Contains("undeclared entity", result.Error);
        Assert.Contains("good: 2 entries, 2 new", result.Output);
        Assert.Equal(2, (await EntriesAsync()).Count);
    }

    [Fact]
    public async Task AnRss091FeedWithTheNetscapeDoctypeIsReadWithoutFetchingItsDtd()
    {
        _feeds.Files["/netscape"] = """
            <?xml version="1.0"?>
            <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
            <rss version="0.91"><channel><title>t</title><item><title>a</title><link>https://example.org/a</link></item></channel></rss>
            """u8.ToArray();
        _host.UseSources(("netscape", "Rss", _feeds.Url("/netscape")));

        var result = await _host.RunAsync("collect");

        // The DTD's address is not reachable from here: a reader that fetched it would fail the source.
        Assert.Contains("netscape: 1 entries, 1 new", result.Output);
    }

    [Fact]
    public async Task AnRss091FeedWithTheNetscapeDoctypeMayUseHtmlEntities()
    {
        _feeds.Files["/netscape"] = """
            <?xml version="1.0" encoding="ISO-8859-1"?>
            <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
            <rss version="0.91"><channel><title>t</title><item><title>Caf&eacute;&nbsp;na&iuml;ve &mdash; &euro;5 &amp; more</title><link>https://example.org/a</link></item></channel></rss>
            """u8.ToArray();
        _host.UseSources(("netscape", "Rss", _feeds.Url("/netscape")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("netscape: 1 entries, 1 new", result.Output);
        Assert.Equal("Caf\u00e9 na\u00efve \u2014 \u20ac5 & more", Assert.Single(await EntriesAsync()).Title);
    }

    [Theory]
    [InlineData("""<!ENTITY xxe SYSTEM "file:///etc/passwd">""", "&xxe;")]
    [InlineData("""<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">""", "&lol3;")]
    [InlineData("""<!ENTITY eacute SYSTEM "file:///etc/passwd">""", "&xxe;&eacute;")]
    public async Task UnderTheNetscapeDoctypeXxeAndEntityBombsStillFail(string subset, string reference)
    {
        _feeds.Files["/netscape"] = System.Text.Encoding.UTF8.GetBytes($"""
            <?xml version="1.0"?>
            <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd" [{subset}]>
            <rss version="0.91"><channel><title>t</title><item><title>{reference}</title><link>https://example.org/a</link></item></channel></rss>
            """);
        _host.UseSources(("netscape", "Rss", _feeds.Url("/netscape")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("netscape: FAILED: invalid XML", result.Error);
        Assert.Contains("undeclared entity", result.Error);
        Assert.DoesNotContain("root:", result.Output + result.Error);
        Assert.Empty(await EntriesAsync());
    }

    [Fact]
    public async Task DeeplyNestedXmlIsRefused()
    {
        var depth = 10_000;
        var body = "<rss version=\"2.0\"><channel>" + string.Concat(Enumerable.Repeat("<x>", depth)) + string.Concat(Enumerable.Repeat("</x>", depth)) + "</channel></rss>";
        _feeds.Files["/deep"] = System.Text.Encoding.UTF8.GetBytes(body);
        _host.UseSources(("deep", "Auto", _feeds.Url("/deep")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("deep: FAILED: the XML nests deeper than 64 levels; refused", result.Error);
    }

    [Fact]
    public async Task AnItemWithNothingToBeKnownByIsSkippedAndTheOthersAreStored()
    {
        _feeds.Files["/mixed"] = """
            <rss version="2.0"><channel><title>t</title>
              <item><title>Good one</title><link>https://example.org/a</link></item>
              <item><category>nothing else</category></item>
              <item><title>Title only</title><pubDate>Mon, 08 Sep 2025 09:00:00 GMT</pubDate></item>
            </channel></rss>
            """u8.ToArray();
        _host.UseSources(("mixed", "Rss", _feeds.Url("/mixed")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("mixed: 2 entries, 2 new, 0 already known, 1 unusable items skipped", result.Output);
        Assert.Equal(["Good one", "Title only"], (await EntriesAsync()).Select(e => e.Title).Order());
        Assert.Single(_host.Logs, l => l.Contains("Source mixed: skipped item 2 has no id, link or title", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResponsesOverTheSizeCapAreRefused()
    {
        _host.Set("Newsletter:MaxSourceBytes", "1000");
        _feeds.Serve("/big", "hf_daily_papers.json");
        _host.UseSources(("big", "HuggingFaceDaily", _feeds.Url("/big")));

        var result = await _host.RunAsync("collect");

        Assert.Contains("big: FAILED: response", result.Error);
        Assert.Contains("exceeds the limit of 1000", result.Error);
    }
}
