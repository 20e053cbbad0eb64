using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

public sealed class DedupeTests
{
    /// <summary>Every form of one paper's identity that feeds were seen to write, and what it must become.</summary>
    [Theory]
    // arXiv ids, bare and prefixed
    [InlineData("arXiv:2307.01234", "arxiv:2307.01234")]
    [InlineData("arXiv:2307.01234v2", "arxiv:2307.01234")]
    [InlineData("arxiv: 2307.01234", "arxiv:2307.01234")]
    [InlineData("oai:arXiv.org:2307.01234v2", "arxiv:2307.01234")]
    [InlineData("  oai:arXiv.org:2307.01234  ", "arxiv:2307.01234")]
    // abs / pdf / html pages, versions, schemes, hosts
    [InlineData("https://arxiv.org/abs/2307.01234v1", "arxiv:2307.01234")]
    [InlineData("http://arxiv.org/abs/2307.01234v12", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/abs/2307.01234/", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/pdf/2307.01234", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/pdf/2307.01234v2", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/pdf/2307.01234v2.pdf", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/html/2307.01234v1", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/html/2307.01234v1/", "arxiv:2307.01234")]
    [InlineData("https://www.arxiv.org/abs/2307.01234", "arxiv:2307.01234")]
    [InlineData("http://export.arxiv.org/abs/2307.01234v2", "arxiv:2307.01234")]
    [InlineData("HTTPS://ARXIV.ORG/ABS/2307.01234V1", "arxiv:2307.01234")]
    [InlineData("arxiv.org/abs/2307.01234", "arxiv:2307.01234")]
    [InlineData("www.arxiv.org/pdf/2307.01234v1", "arxiv:2307.01234")]
    // query strings and fragments
    [InlineData("https://arxiv.org/abs/2611.10050v1?context=cs.LG", "arxiv:2611.10050")]
    [InlineData("https://arxiv.org/abs/2611.10050#S3", "arxiv:2611.10050")]
    [InlineData("https://arxiv.org/abs/2611.10050v2?context=cs.LG#abstract", "arxiv:2611.10050")]
    [InlineData("arxiv.org/abs/2611.10050?utm_source=feed", "arxiv:2611.10050")]
    // old-style ids, with and without subject class
    [InlineData("hep-th/9901001", "arxiv:hep-th/9901001")]
    [InlineData("hep-th/9901001v2", "arxiv:hep-th/9901001")]
    [InlineData("arXiv:hep-th/9901001", "arxiv:hep-th/9901001")]
    [InlineData("oai:arXiv.org:hep-th/9901001", "arxiv:hep-th/9901001")]
    [InlineData("http://arxiv.org/abs/hep-th/9901001v1", "arxiv:hep-th/9901001")]
    [InlineData("https://arxiv.org/pdf/cond-mat/0102536v1", "arxiv:cond-mat/0102536")]
    [InlineData("math.AP/0601001", "arxiv:math/0601001")]
    [InlineData("https://arxiv.org/abs/math.AP/0601001v3", "arxiv:math/0601001")]
    // Hugging Face paper pages
    [InlineData("https://huggingface.co/papers/2307.01234", "arxiv:2307.01234")]
    [InlineData("https://huggingface.co/papers/2307.01234#community", "arxiv:2307.01234")]
    [InlineData("huggingface.co/papers/2307.01234?utm_source=digest", "arxiv:2307.01234")]
    // arXiv's own DOIs
    [InlineData("https://doi.org/10.48550/arXiv.2307.01234", "arxiv:2307.01234")]
    [InlineData("doi:10.48550/arxiv.2307.01234", "arxiv:2307.01234")]
    // journal DOIs in every form
    [InlineData("https://doi.org/10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("http://doi.org/10.1038/S41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("http://dx.doi.org/10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("https://doi.org/10.1038%2Fs41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("doi.org/10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("doi:10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("DOI: 10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("info:doi/10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("10.1038/s41586-025-01234-5", "doi:10.1038/s41586-025-01234-5")]
    [InlineData("https://doi.org/10.1101/2025.09.01.123456?rss=1", "doi:10.1101/2025.09.01.123456")]
    // everything else is a link, tracking and fragments removed
    [InlineData("https://example.org/post/1", "url:https://example.org/post/1")]
    [InlineData("HTTPS://Example.org:443/post/1/#comments", "url:https://example.org/post/1")]
    [InlineData("https://example.org/post?id=7&utm_source=rss&utm_medium=feed", "url:https://example.org/post?id=7")]
    [InlineData("https://www.nature.com/articles/s41586-025-01234-5", "url:https://www.nature.com/articles/s41586-025-01234-5")]
    [InlineData("tag:example.org,2025:post-1", "id:src:tag:example.org,2025:post-1")]
    [InlineData("1234", "id:src:1234")]
    // a slash and seven digits is an old-style arXiv id only under a real archive name
    [InlineData("story/1234567", "id:src:story/1234567")]
    [InlineData("https://news.example.org/story/1234567", "url:https://news.example.org/story/1234567")]
    [InlineData("cond-mat.mes-hall/0102536", "arxiv:cond-mat/0102536")]
    [InlineData("physics.acc-ph/0601001", "arxiv:physics/0601001")]
    [InlineData("solv-int/9901001", "arxiv:solv-int/9901001")]
    [InlineData("funct-an/9401001v1", "arxiv:funct-an/9401001")]
    // a bare new-style id outside an arXiv context is just a number
    [InlineData("2026.12345", "id:src:2026.12345")]
    [InlineData("2307.01234", "id:src:2307.01234")]
    public void EveryFormOfAnIdentityBecomesOne(string value, string expected) =>
        Assert.Equal(expected, CanonicalId.For("src", [value]));

    [Theory]
    [InlineData("2307.01234", "arxiv:2307.01234")]
    [InlineData("2307.01234v3", "arxiv:2307.01234")]
    [InlineData("0704.0001", "arxiv:0704.0001")]
    [InlineData("story/1234567", "id:src:story/1234567")]
    public void InAnArxivContextABareNewStyleIdIsArxiv(string value, string expected) =>
        Assert.Equal(expected, CanonicalId.For("src", [value], arxivContext: true));

    [Fact]
    public void ArxivBeatsDoiBeatsLinkBeatsTheFeedsOwnId()
    {
        Assert.Equal("arxiv:2307.01234", CanonicalId.For("s", ["tag:x,2025:1", "https://example.org/p", "doi:10.1/x", "https://arxiv.org/abs/2307.01234v2"]));
        Assert.Equal("doi:10.1038/abc", CanonicalId.For("s", ["https://www.nature.com/articles/abc", "doi:10.1038/abc"]));
        Assert.Equal("url:https://example.org/p", CanonicalId.For("s", ["tag:x,2025:1", "https://example.org/p"]));
    }

    [Fact]
    public void AnItemWithNeitherIdNorLinkIsKnownByTitleAndDate()
    {
        var monday = new DateTimeOffset(2025, 9, 8, 9, 0, 0, TimeSpan.Zero);
        var id = CanonicalId.For("s", [null, " "], "A  Title-only   Post", monday);

        Assert.StartsWith("content:", id);
        Assert.Equal(id, CanonicalId.For("other", [], "a title-only post", monday.AddHours(3)));
        Assert.NotEqual(id, CanonicalId.For("s", [], "A Title-only Post", monday.AddDays(1)));
        Assert.NotEqual(id, CanonicalId.For("s", [], "Another post", monday));
        Assert.Null(CanonicalId.For("s", [null], "  ", monday));
    }

    [Fact]
    public async Task OverlappingSourcesStoreEachPaperOnceAndKeepTheBestScore()
    {
        await using var feeds = await FixtureServer.StartAsync();
        await using var host = new TestHost();
        feeds.Serve("/hf", "hf_daily_papers.json");
        feeds.Serve("/rss", "arxiv_rss_cs.AI.xml");
        feeds.Serve("/api", "arxiv_api_query.xml");
        feeds.Serve("/json", "jsonfeed_1_1.json");
        // The RSS first, so the HF upvotes arrive as a later sighting.
        host.UseSources(("rss", "Rss", feeds.Url("/rss")), ("api", "ArxivApi", feeds.Url("/api")));
        await host.RunAsync("collect");
        host.UseSources(("hf", "HuggingFaceDaily", feeds.Url("/hf")), ("json", "JsonFeed", feeds.Url("/json")));
        await host.RunAsync("collect");

        var entries = await EntryQueries.AllAsync(host);

        Assert.Equal(entries.Count, entries.Select(e => e.CanonicalId).Distinct().Count());
        Assert.Equal(
            ["arxiv:2203.01250", "arxiv:2509.01234", "arxiv:2509.04664", "arxiv:2509.05001"],
            entries.Where(e => e.CanonicalId.StartsWith("arxiv:")).Select(e => e.CanonicalId));
        Assert.Equal(26, entries.Single(e => e.CanonicalId == "arxiv:2509.04664").Score);
        Assert.Equal(5, entries.Count); // plus the JSON Feed's untitled micro-post
    }
}
