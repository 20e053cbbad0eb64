using System.Text;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Issues;

/// <summary>A digest past the template output limit is an error, never a cut-short message; parse caps keep real feeds inside it.</summary>
public sealed class OversizeDigestTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync() =>
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ADigestOverTheOutputLimitFailsTheRunAndSendsNothing()
    {
        // Stored directly, past the parse caps (as rows from before them would be): 60 papers of ~20,000 characters.
        var huge = string.Join(", ", Enumerable.Range(0, 2_000).Select(i => $"Author{i}"));
        var papers = Enumerable.Range(1, 60)
            .Select(n => new Entry($"arxiv:2611.{n:00000}", $"Paper {n}", "Abstract.", [huge], $"https://arxiv.org/abs/2611.{n:00000}", null, 0, "arxiv"))
            .ToList();
        await _host.Service<EntryStore>().UpsertAsync(papers, CancellationToken.None);

        var result = await _host.RunAsync("send-now");

        Assert.NotEqual(0, result.Exit);
        Assert.Contains("renders more than 1,000,000 characters", result.Output + result.Error);
        Assert.False(Directory.Exists(_host.Outbox) && Directory.GetFiles(_host.Outbox, "*.eml").Length > 0, "a cut-short digest was sent");
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
    }

    [Fact]
    public async Task AFeedItemWithAMegabyteOfAuthorsIsCappedAndTheDigestIsWhole()
    {
        await using var server = await FixtureServer.StartAsync();
        var feed = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title><link>https://example.org/</link>""");
        feed.Append("<item><title>").Append(new string('T', 5_000)).Append("</title><link>https://example.org/huge</link><description>")
            .Append(new string('s', 50_000)).Append("</description><dc:creator>")
            .Append(string.Join(", ", Enumerable.Range(0, 100_000).Select(i => $"Name{i}"))).Append("</dc:creator></item>");
        for (var i = 1; i <= 10; i++)
            feed.Append($"<item><title>Normal paper {i}</title><link>https://example.org/p{i}</link><description>Abstract {i}.</description></item>");
        feed.Append("</channel></rss>");
        server.Files["/feed.xml"] = Encoding.UTF8.GetBytes(feed.ToString());
        _host.UseSources(("journal", "Rss", server.Url("/feed.xml")));

        Assert.Equal(0, (await _host.RunAsync("collect")).Exit);
        var authors = await _host.QueryScalarAsync<string>("SELECT authors FROM entries WHERE url = 'https://example.org/huge'");
        // The list is stored whole up to a bound (a followed author far down it is still matched); a digest shows 50 names.
        Assert.Equal(Entry.MaxAuthors, authors.Split('\n').Length);
        Assert.Equal(Entry.MaxTitleLength, (await _host.QueryScalarAsync<string>("SELECT title FROM entries WHERE url = 'https://example.org/huge'")).Length);
        Assert.Equal(Entry.MaxSummaryLength, (await _host.QueryScalarAsync<string>("SELECT summary FROM entries WHERE url = 'https://example.org/huge'")).Length);

        var send = await _host.RunAsync("send-now");

        Assert.Equal(0, send.Exit);
        var text = (await MimeKit.MimeMessage.LoadAsync(Directory.GetFiles(_host.Outbox, "*.eml").Single())).TextBody!;
        for (var i = 1; i <= 10; i++)
            Assert.Contains($"Normal paper {i}", text.Replace("\r\n", "\n").Replace("\n   ", " "));
        Assert.Contains("Name49, et al.", System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " "));
        Assert.DoesNotContain("Name50,", text);
        Assert.Contains("/unsubscribe?token=", text);
    }

    [Theory]
    [InlineData("Newsletter:MaxMoreEntriesPerIssue", "5000")]
    [InlineData("Newsletter:MaxEntriesPerIssue", "1000")]
    public async Task CapsThatCouldOverflowTheOutputLimitAreRefused(string key, string value)
    {
        _host.Set(key, value);

        var result = await _host.RunAsync("send-now");

        Assert.NotEqual(0, result.Exit);
        Assert.Contains(key, result.Output + result.Error);
    }
}
