using System.Text;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

/// <summary>Links without a scheme become their https pages; a broken stored link is repaired, a working one never worsened; author lists are kept whole within a bound.</summary>
public sealed class PaperLinkTests
{
    [Theory]
    [InlineData("arxiv.org/abs/2611.10050", "https://arxiv.org/abs/2611.10050")]
    [InlineData("www.arxiv.org/abs/2611.10050v2", "https://arxiv.org/abs/2611.10050")]
    [InlineData("export.arxiv.org/pdf/2611.10050v1.pdf", "https://arxiv.org/abs/2611.10050")]
    [InlineData("  ArXiv.org/abs/hep-th/9901001v2 ", "https://arxiv.org/abs/hep-th/9901001")]
    [InlineData("arxiv.org/list/cs.LG/new", "https://arxiv.org/list/cs.LG/new")]
    [InlineData("huggingface.co/papers/2611.10050", "https://arxiv.org/abs/2611.10050")]
    [InlineData("doi.org/10.1038/s41586-026-00001-1", "https://doi.org/10.1038/s41586-026-00001-1")]
    [InlineData("dx.doi.org/10.1038/S41586-026-00002-2", "https://doi.org/10.1038/s41586-026-00002-2")]
    [InlineData("doi.org/10.48550/arXiv.2611.10050", "https://arxiv.org/abs/2611.10050")]
    [InlineData("/articles/123", null)]
    [InlineData("papers/arxiv.org/abs/2611.10050", null)]
    [InlineData("example.org/post/1", null)]
    [InlineData("https://arxiv.org/abs/2611.10050", null)]
    [InlineData("", null)]
    public void SchemelessPaperLinksReadAsTheirHttpsPages(string link, string? page) =>
        Assert.Equal(page, PaperLinks.FromSchemeless(link));

    [Theory]
    [InlineData("", true)]
    [InlineData("/articles/123", true)]
    [InlineData("doi:10.1038/x", true)]
    [InlineData("arxiv.org/abs/2611.10050", true)]
    [InlineData("javascript:alert(1)", true)]
    [InlineData("http://rss.arxiv.org/rss/arxiv.org/abs/2611.10050", true)]
    [InlineData("http://rss.arxiv.org/rss/www.arxiv.org/abs/2611.10050v2", true)]
    [InlineData("https://www.nature.com/nature/doi.org/10.1038/x", true)]
    [InlineData("https://news.example.org/feed/huggingface.co/papers/2611.10050", true)]
    [InlineData("https://arxiv.org/abs/2611.10050", false)]
    [InlineData("http://rss.arxiv.org/rss/cs.LG", false)]
    [InlineData("https://www.nature.com/articles/s41586-026-00001-1", false)]
    [InlineData("https://web.archive.org/web/2026/https://arxiv.org/abs/2611.10050", false)]
    [InlineData("https://blog.example.org/notes-on-arxiv.org-papers", false)]
    public void OnlyALinkThatCannotWorkCountsAsBroken(string url, bool broken) =>
        Assert.Equal(broken, PaperLinks.IsBroken(url));

    [Fact]
    public async Task ABrokenLinkGivesWayToAWorkingOneAndAWorkingOneIsNeverReplaced()
    {
        await using var host = new TestHost();
        Assert.Equal(0, (await host.RunAsync("subscribers", "list")).Exit); // any verb creates the database
        var store = host.Service<EntryStore>();
        Entry Paper(string id, string url) => new(id, "A paper", "Abstract.", ["A. Author"], url, null, 0, "s");
        await store.UpsertAsync(
            [Paper("arxiv:2611.10080", "http://rss.arxiv.org/rss/arxiv.org/abs/2611.10080"), Paper("arxiv:2611.10081", "https://blog.example.org/review"),
             Paper("arxiv:2611.10082", ""), Paper("arxiv:2611.10083", "https://arxiv.org/abs/2611.10083")], CancellationToken.None);

        await store.UpsertAsync(
            [Paper("arxiv:2611.10080", "https://arxiv.org/abs/2611.10080"), Paper("arxiv:2611.10081", "http://rss.arxiv.org/rss/arxiv.org/abs/2611.10081"),
             Paper("arxiv:2611.10082", "/relative"), Paper("arxiv:2611.10083", "https://example.org/another-good-link")], CancellationToken.None);

        var urls = (await EntryQueries.AllAsync(host)).ToDictionary(e => e.CanonicalId, e => e.Url);
        Assert.Equal("https://arxiv.org/abs/2611.10080", urls["arxiv:2611.10080"]); // repaired
        Assert.Equal("https://blog.example.org/review", urls["arxiv:2611.10081"]); // never worsened
        Assert.Equal("", urls["arxiv:2611.10082"]); // one broken link does not replace another
        Assert.Equal("https://arxiv.org/abs/2611.10083", urls["arxiv:2611.10083"]); // the first working link stays
    }

    [Fact]
    public async Task AnArxivFeedsSchemelessLinkIsStoredAsTheAbsPageNotAPageOfTheFeedsHost()
    {
        await using var feeds = await FixtureServer.StartAsync();
        await using var host = new TestHost();
        feeds.Files["/rss"] = Encoding.UTF8.GetBytes("""
            <?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>cs.LG</title><link>http://rss.arxiv.org/rss/cs.LG</link>
            <item><title>Bare</title><link>arxiv.org/abs/2611.10090</link><description>arXiv:2611.10090v1 Announce Type: new Abstract: A.</description></item>
            <item><title>Relative</title><link>cs.LG/new</link><description>An ordinary relative link still resolves against the channel.</description></item>
            <item><title>Guid</title><guid>www.arxiv.org/abs/2611.10091</guid><description>B.</description></item>
            </channel></rss>
            """);
        host.UseSources(("arxiv", "Rss", feeds.Url("/rss")));

        Assert.Equal(0, (await host.RunAsync("collect")).Exit);

        var urls = (await EntryQueries.AllAsync(host)).ToDictionary(e => e.Title, e => e.Url);
        Assert.Equal("https://arxiv.org/abs/2611.10090", urls["Bare"]);
        Assert.Equal("http://rss.arxiv.org/rss/cs.LG/new", urls["Relative"]);
        Assert.Equal("https://arxiv.org/abs/2611.10091", urls["Guid"]);
    }

    [Fact]
    public void AuthorListsAreKeptWholeWithinAStorageBound()
    {
        var sixty = Enumerable.Range(1, 60).Select(i => $"Author {i}").ToArray();
        var hostile = Enumerable.Range(0, 100_000).Select(i => $"Name{i}").Append(new string('x', 500)).ToArray();
        var longNames = Enumerable.Range(0, 2_000).Select(_ => new string('n', 99)).ToArray();

        Assert.Equal(sixty, new Entry("arxiv:1", "t", "s", sixty, "", null, 0, "s").WithinLimits().Authors);
        var capped = new Entry("arxiv:2", "t", "s", hostile, "", null, 0, "s").WithinLimits().Authors;
        Assert.Equal(Entry.MaxAuthors, capped.Count);
        Assert.Equal(hostile.Take(Entry.MaxAuthors), capped);
        var byCharacters = new Entry("arxiv:3", "t", "s", longNames, "", null, 0, "s").WithinLimits().Authors;
        Assert.Equal(Entry.MaxAuthorCharacters / 99, byCharacters.Count);
        Assert.True(byCharacters.Sum(a => a.Length) <= Entry.MaxAuthorCharacters);
    }
}
