using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

public sealed class DedupeTests
{
    [Theory]
    [InlineData("2307.01234", "arxiv:2307.01234")]
    [InlineData("oai:arXiv.org:2307.01234v2", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/abs/2307.01234v1", "arxiv:2307.01234")]
    [InlineData("http://arxiv.org/abs/2307.01234v12", "arxiv:2307.01234")]
    [InlineData("https://arxiv.org/pdf/2307.01234", "arxiv:2307.01234")]
    [InlineData("http://arxiv.org/abs/hep-th/9901001v1", "arxiv:hep-th/9901001")]
    [InlineData("https://example.org/post/1", null)]
    public void ArxivIdentifiersLoseVersionAndPrefix(string value, string? expected) =>
        Assert.Equal(expected, CanonicalId.TryArxiv(value));

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
