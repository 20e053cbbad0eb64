using Newsletter.Tests.Support;

namespace Newsletter.Tests.Sources;

/// <summary>
/// One recorded feed per dialect, served from 127.0.0.1 and collected through the real CLI, both
/// with the kind an operator would configure and with <c>Auto</c>.
/// </summary>
public sealed class DialectTests(ITestOutputHelper output)
{
    /// <summary>What one fixture must yield: every canonical id, the items skipped, and one entry looked at closely.</summary>
    public sealed record Expectation(string Fixture, string Kind, string[] Ids, int Skipped, string Id, string Title, string Authors, string Url, string SummaryStart);

    public static TheoryData<string> Dialects => new(Cases.Keys.ToArray());

    private static readonly Dictionary<string, Expectation> Cases = new[]
    {
        new Expectation("dialects/rss_0.90.xml", "Rss", ["arxiv:1706.03762", "arxiv:2509.04664"], 0,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "", "https://arxiv.org/abs/2509.04664", ""),
        new Expectation("dialects/rss_0.91.xml", "Rss", ["url:https://lab.example.org/notes/hallucinate.html", "url:https://lab.example.org/notes/sparse.html"], 0,
            "url:https://lab.example.org/notes/hallucinate.html", "Notes on \"Why Language Models Hallucinate\"", "",
            "https://lab.example.org/notes/hallucinate.html", "We read arXiv 2509.04664 and found the bound naïve but useful."),
        new Expectation("dialects/rss_0.92.xml", "Rss", ["content:", "url:https://seminar.example.org/talks/42"], 1,
            "url:https://seminar.example.org/talks/42", "Talk: Mass concentration in rescaled functionals", "",
            "https://seminar.example.org/talks/42", "Based on arXiv:2203.01250."),
        new Expectation("dialects/rss_1.0_journal.xml", "Rss", ["content:", "doi:10.1038/s41586-025-09001-1", "doi:10.1038/s41586-025-09002-2"], 1,
            "doi:10.1038/s41586-025-09001-1", "A catalytic route to room-temperature ammonia", "Ada Lovelace\nGrace Hopper",
            "https://www.nature.example/articles/s41586-025-09001-1", "Ammonia synthesis at ambient conditions"),
        new Expectation("arxiv_rss_cs.AI.xml", "Rss", ["arxiv:2203.01250", "arxiv:2509.04664", "arxiv:2509.05001"], 0,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "Adam Tauman Kalai\nOfir Nachum\nSantosh S. Vempala\nEdwin Zhang",
            "https://arxiv.org/abs/2509.04664", "Like students facing hard exam questions"),
        new Expectation("dialects/atom_0.3.xml", "Atom", ["arxiv:2509.05001", "url:https://old.example.org/2025/09/hallucinate"], 0,
            "arxiv:2509.05001", "Sparse mixtures, revisited", "Old Blogger", "https://arxiv.org/abs/2509.05001", "Inline XHTML body."),
        new Expectation("dialects/atom_1.0.xml", "Atom", ["arxiv:2509.04664", "doi:10.5555/club.2025.123"], 0,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "Adam Tauman Kalai\nOfir Nachum", "https://arxiv.org/abs/2509.04664",
            "Evaluations reward"),
        new Expectation("arxiv_api_query.xml", "ArxivApi", ["arxiv:2509.04664"], 0,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "Adam Tauman Kalai\nSantosh S. Vempala", "https://arxiv.org/abs/2509.04664",
            "Like students facing hard exam questions"),
        new Expectation("dialects/jsonfeed_1_0.json", "JsonFeed", ["arxiv:2509.04664", "content:"], 1,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "Santosh S. Vempala", "https://arxiv.org/abs/2509.04664v1",
            "Evaluations reward guessing."),
        new Expectation("jsonfeed_1_1.json", "JsonFeed", ["arxiv:2509.04664", "id:dialect:2"], 0,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "Adam Tauman Kalai\nEdwin Zhang",
            "https://papers.example.org/2025/09/08/why-lms-hallucinate", "LMs guess when uncertain"),
        new Expectation("hf_daily_papers.json", "HuggingFaceDaily", ["arxiv:2509.01234", "arxiv:2509.04664"], 0,
            "arxiv:2509.04664", "Why Language Models Hallucinate", "Adam Tauman Kalai\nOfir Nachum\nSantosh S. Vempala\nEdwin Zhang",
            "https://arxiv.org/abs/2509.04664", "Like students facing hard exam questions"),
    }.ToDictionary(e => Path.GetFileName(e.Fixture));

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task EveryDialectIsReadWithItsConfiguredKindAndWithAuto(string name)
    {
        var expected = Cases[name];
        foreach (var kind in new[] { expected.Kind, "Auto" })
        {
            await using var feeds = await FixtureServer.StartAsync();
            await using var host = new TestHost();
            feeds.Serve("/feed", expected.Fixture);
            host.UseSources(("dialect", kind, feeds.Url("/feed")));

            var result = await host.RunAsync("collect");

            Assert.True(result.Exit == 0 && !(result.Output + result.Error).Contains("FAILED"), result.ToString());
            var entries = await EntryQueries.AllAsync(host);
            var ids = entries.Select(e => e.CanonicalId.StartsWith("content:") ? "content:" : e.CanonicalId).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected.Ids, ids);
            var entry = entries.Single(e => e.CanonicalId == expected.Id);
            Assert.Equal(expected.Title, entry.Title);
            Assert.Equal(expected.Authors, entry.Authors);
            Assert.Equal(expected.Url, entry.Url);
            Assert.StartsWith(expected.SummaryStart, entry.Summary);
            Assert.All(entries, e => Assert.NotEqual("", e.Title));
            if (expected.Skipped > 0)
            {
                Assert.Contains($"{expected.Skipped} unusable items skipped", result.Output);
                Assert.Equal(expected.Skipped, host.Logs.Count(l => l.Contains("Source dialect: skipped item", StringComparison.Ordinal)));
            }
            else
                Assert.DoesNotContain("skipped", result.Output);
            output.WriteLine($"{name,-24} {kind,-16} {result.Output.Trim()}");
        }
    }

    [Fact]
    public async Task ManyCharacterReferencesAreNotMistakenForAnEntityBomb()
    {
        await using var feeds = await FixtureServer.StartAsync();
        await using var host = new TestHost();
        var text = string.Concat(Enumerable.Repeat("R&amp;D &lt;b&gt; &#233;t&#xE9; ", 2000));
        feeds.Files["/feed"] = System.Text.Encoding.UTF8.GetBytes(
            $"<rss version=\"2.0\"><channel><title>t</title><item><title>Entities</title><link>https://example.org/e</link><description>{text}</description></item></channel></rss>");
        host.UseSources(("entities", "Rss", feeds.Url("/feed")));

        var result = await host.RunAsync("collect");

        Assert.Contains("entities: 1 entries, 1 new", result.Output);
        Assert.StartsWith("R&D", (await EntryQueries.AllAsync(host)).Single().Summary);
    }

    [Fact]
    public async Task DatesOfEveryDialectAreRead()
    {
        await using var feeds = await FixtureServer.StartAsync();
        await using var host = new TestHost();
        feeds.Serve("/091", "dialects/rss_0.91.xml");
        feeds.Serve("/10", "dialects/rss_1.0_journal.xml");
        feeds.Serve("/03", "dialects/atom_0.3.xml");
        host.UseSources(("a", "Auto", feeds.Url("/091")), ("b", "Auto", feeds.Url("/10")), ("c", "Auto", feeds.Url("/03")));
        await host.RunAsync("collect");

        var published = await host.QueryScalarAsync<long>("SELECT published_at FROM entries WHERE canonical_id = 'doi:10.1038/s41586-025-09002-2'");
        Assert.Equal(new DateTimeOffset(2025, 9, 8, 0, 0, 0, TimeSpan.Zero), Newsletter.Storage.DbTime.FromDb(published));
        var issued = await host.QueryScalarAsync<long>("SELECT published_at FROM entries WHERE canonical_id = 'url:https://old.example.org/2025/09/hallucinate'");
        Assert.Equal(new DateTimeOffset(2025, 9, 8, 12, 0, 0, TimeSpan.Zero), Newsletter.Storage.DbTime.FromDb(issued));
    }

    [Theory]
    [InlineData("Mon, 08 Sep 2025 00:00:00 -0400", "2025-09-08T04:00:00Z")]
    [InlineData("Mon, 08 Sep 2025 00:00:00 GMT", "2025-09-08T00:00:00Z")]
    [InlineData("Mon, 8 Sep 2025 09:00 EDT", "2025-09-08T13:00:00Z")]
    [InlineData("08 Sep 25 09:00:00 PST", "2025-09-08T17:00:00Z")]
    [InlineData("Monday, 08 September 2025 10:00:00 +02:00", "2025-09-08T08:00:00Z")]
    [InlineData("2025-09-08T09:00:00-04:00", "2025-09-08T13:00:00Z")]
    [InlineData("2025-09-08", "2025-09-08T00:00:00Z")]
    [InlineData("Mon, 31 Feb 2025 00:00:00 GMT", null)]
    [InlineData("Mon, 08 Sep 2025 00:00:00 +9999", null)]
    [InlineData("yesterday", null)]
    public void FeedDatesOfEveryStyleAreRead(string value, string? expected) =>
        Assert.Equal(expected is null ? null : DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture),
            Newsletter.Sources.FeedDates.Parse(value));
}
