using System.Text;
using System.Text.RegularExpressions;
using MimeKit;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Issues;

/// <summary>
/// Papers a reader asked for reach them however a feed writes them: names and keywords in decomposed
/// Unicode, a followed author far down a long list, links without a scheme, and a broken link stored
/// earlier. End to end: feeds served from 127.0.0.1, <c>collect</c>, <c>send-now</c>, a real SMTP server.
/// </summary>
public sealed partial class MatchingTests : IAsyncLifetime
{
    private static readonly DateOnly Monday = new(2026, 11, 9);
    private readonly ManualClock _clock = new() { Now = At(5) };
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private FixtureServer _feeds = null!;

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [GeneratedRegex(@"https?://\S+?(?=[\s)""<>]|$)")]
    private static partial Regex Link();

    private static DateTimeOffset At(int hour, int minute = 0) => new(Monday.ToDateTime(new TimeOnly(hour, minute)), TimeSpan.Zero);

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _host.Time = _clock;
        _host.UseSmtp(_smtp.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
        await _feeds.DisposeAsync();
    }

    /// <summary>An arXiv listing item as rss.arxiv.org writes it; <paramref name="guid"/> false leaves the link as the only identity.</summary>
    private static string ArxivItem(string id, string title, IEnumerable<string> authors, string link, bool guid = true, string summary = "We study it.") => $"""
        <item><title>{title}</title><link>{link}</link>
        <description>arXiv:{id}v1 Announce Type: new Abstract: {summary}</description>
        {(guid ? $"<guid isPermaLink=\"false\">oai:arXiv.org:{id}v1</guid>" : "")}<category>cs.LG</category>
        <pubDate>Mon, 09 Nov 2026 00:00:00 -0500</pubDate><dc:creator>{string.Join(", ", authors)}</dc:creator></item>
        """;

    private static byte[] Rss(string channelLink, params string[] items) => Encoding.UTF8.GetBytes(
        $"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title><link>{channelLink}</link>{string.Concat(items)}</channel></rss>""");

    private async Task AddReaderAsync(string email, params string[] preferences)
    {
        var result = await _host.RunAsync(["subscribers", "add", email, "--confirmed", .. preferences]);
        Assert.True(result.Exit == 0, result.ToString());
    }

    /// <summary>Readers joined at 05:00; the feeds are collected at 06:00 and the digest sent at 07:00.</summary>
    private async Task CollectAndSendAsync(params (string Name, string Kind, byte[] Body)[] feeds)
    {
        foreach (var feed in feeds)
            _feeds.Files["/" + feed.Name] = feed.Body;
        _host.UseSources(feeds.Select(f => (f.Name, f.Kind, _feeds.Url("/" + f.Name))).ToArray());
        _clock.Now = At(6);
        var collect = await _host.RunAsync("collect");
        Assert.True(collect.Exit == 0, collect.ToString());
        _clock.Now = At(7);
        var send = await _host.RunAsync("send-now", "--date", Monday.ToString("yyyy-MM-dd"));
        Assert.True(send.Exit == 0, send.ToString());
    }

    private MimeMessage Mail(string email) => Assert.Single(_smtp.To(email));

    private static IReadOnlyList<string> Papers(MimeMessage mail) =>
        Regex.Matches(mail.TextBody!, @"https://arxiv\.org/abs/(\S+)").Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();

    /// <summary>A body with its wrapping undone: any run of white space is one space.</summary>
    private static string Flat(string body) => Regex.Replace(body, @"\s+", " ");

    [Fact]
    public async Task AFollowedAuthorWrittenInDecomposedUnicodeIsDelivered()
    {
        var alvarezNfd = "José Álvarez".Normalize(NormalizationForm.FormD);
        Assert.NotEqual("José Álvarez", alvarezNfd); // the feed really writes the accents as combining marks
        await AddReaderAsync("ada@example.org", "--authors", "José Álvarez");
        await AddReaderAsync("bo@example.org", "--authors", "jose alvarez");
        await AddReaderAsync("cy@example.org", "--authors", "J. Alvarez");
        await AddReaderAsync("dee@example.org", "--keywords", "Schrödinger,café");

        await CollectAndSendAsync(("arxiv", "Rss", Rss("http://rss.arxiv.org/rss/cs.LG",
            ArxivItem("2611.10050", "Sparse attention", ["Maria Skłodowska", alvarezNfd], "https://arxiv.org/abs/2611.10050"),
            ArxivItem("2611.10051", "Schrödinger bridges".Normalize(NormalizationForm.FormD), ["Alan Turing"], "https://arxiv.org/abs/2611.10051"),
            ArxivItem("2611.10052", "Graphs", ["J. Alvarez"], "https://arxiv.org/abs/2611.10052"),
            ArxivItem("2611.10053", "Diffusion", ["Grace Hopper"], "https://arxiv.org/abs/2611.10053", summary: "Tested in a CAFÉ".Normalize(NormalizationForm.FormD)))));

        // Accents, their Unicode form and case are folded; initials are not expanded.
        Assert.Equal(["2611.10050"], Papers(Mail("ada@example.org")));
        Assert.Equal(["2611.10050"], Papers(Mail("bo@example.org")));
        Assert.Equal(["2611.10052"], Papers(Mail("cy@example.org")));
        Assert.Equal(["2611.10051", "2611.10053"], Papers(Mail("dee@example.org")));
        // The name is stored, and shown, composed: the reason reads as the reader typed it.
        Assert.Contains("by José Álvarez", Flat(Mail("ada@example.org").TextBody!));
        Assert.Contains("by José Álvarez", Flat(Mail("ada@example.org").HtmlBody!));
        var authors = await _host.QueryScalarAsync<string>("SELECT authors FROM entries WHERE canonical_id = 'arxiv:2611.10050'");
        Assert.Equal("Maria Skłodowska\nJosé Álvarez", authors);
    }

    [Fact]
    public async Task TheFiftyFifthAuthorOfSixtyIsDeliveredAndTheDigestShowsFiftyNames()
    {
        var sixty = Enumerable.Range(1, 60).Select(i => $"Ada{i:00} Byron").ToArray();
        await AddReaderAsync("ada@example.org", "--authors", "Ada55 Byron");
        await AddReaderAsync("all@example.org");
        // Stored before this version by an earlier one, which cut lists at 50 names and "et al.".
        _clock.Now = At(5, 30);
        await _host.Service<EntryStore>().UpsertAsync(
            [new Entry("arxiv:2611.10041", "Capped earlier", "Abstract.", [.. sixty.Take(50), "et al."], "https://arxiv.org/abs/2611.10041", null, 0, "arxiv")],
            CancellationToken.None);

        await CollectAndSendAsync(("arxiv", "Rss", Rss("http://rss.arxiv.org/rss/cs.LG",
            ArxivItem("2611.10040", "A large collaboration", sixty, "https://arxiv.org/abs/2611.10040"),
            ArxivItem("2611.10041", "Capped earlier", sixty, "https://arxiv.org/abs/2611.10041"),
            ArxivItem("2611.10042", "Someone else's", ["Ada54 Byron"], "https://arxiv.org/abs/2611.10042"))));

        Assert.Equal(["2611.10040", "2611.10041"], Papers(Mail("ada@example.org")));
        var text = Flat(Mail("ada@example.org").TextBody!);
        Assert.Contains("by Ada55 Byron", text);
        foreach (var body in new[] { text, Flat(Mail("all@example.org").TextBody!), Flat(Mail("all@example.org").HtmlBody!) })
        {
            Assert.Contains("Ada49 Byron, Ada50 Byron, et al.", body);
            Assert.DoesNotContain("Ada51 Byron", body);
        }
        // The whole list is stored; the one an earlier version cut is completed by the new sighting.
        Assert.Equal(60, (await _host.QueryScalarAsync<string>("SELECT authors FROM entries WHERE canonical_id = 'arxiv:2611.10040'")).Split('\n').Length);
        Assert.Equal(string.Join('\n', sixty), await _host.QueryScalarAsync<string>("SELECT authors FROM entries WHERE canonical_id = 'arxiv:2611.10041'"));
    }

    [Fact]
    public async Task SchemelessArxivAndDoiLinksReachTheDigestAsTheirHttpsPages()
    {
        await AddReaderAsync("ada@example.org");

        await CollectAndSendAsync(
            ("arxiv", "Rss", Rss("http://rss.arxiv.org/rss/cs.LG",
                ArxivItem("2611.10060", "Bare host", ["A. Author"], "arxiv.org/abs/2611.10060"),
                ArxivItem("2611.10061", "Bare www host, link as the only id", ["A. Author"], "www.arxiv.org/abs/2611.10061v2", guid: false))),
            ("journal", "Rss", Rss("https://www.nature.com/nature.rss",
                """<item><title>A DOI without a scheme</title><link>doi.org/10.1038/s41586-026-00001-1</link><description>Abstract.</description></item>""",
                """<item><title>An old dx DOI</title><link>dx.doi.org/10.1038/S41586-026-00002-2</link><description>Abstract.</description></item>""")),
            ("json", "JsonFeed", Encoding.UTF8.GetBytes("""
                {"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [
                  {"id": "j1", "title": "JSON Feed paper", "url": "arxiv.org/abs/2611.10062", "content_text": "Abstract."}]}
                """)));

        var mail = Mail("ada@example.org");
        foreach (var body in new[] { mail.TextBody!, mail.HtmlBody! })
        {
            var links = Link().Matches(body).Select(m => m.Value).ToList();
            Assert.Contains("https://arxiv.org/abs/2611.10060", links);
            Assert.Contains("https://arxiv.org/abs/2611.10061", links);
            Assert.Contains("https://arxiv.org/abs/2611.10062", links);
            Assert.Contains("https://doi.org/10.1038/s41586-026-00001-1", links);
            Assert.Contains("https://doi.org/10.1038/s41586-026-00002-2", links);
            Assert.DoesNotContain(links, l => l.Contains("rss.arxiv.org", StringComparison.Ordinal) || l.Contains("nature.com", StringComparison.Ordinal));
        }
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM entries WHERE url NOT LIKE 'https://arxiv.org/abs/%' AND url NOT LIKE 'https://doi.org/10.%'"));
    }

    [Fact]
    public async Task ABrokenStoredLinkIsRepairedByALaterProperOneAndAWorkingOneIsKept()
    {
        await AddReaderAsync("ada@example.org");
        // As an earlier version stored them: a bare link resolved against the channel, and a link that is no URL.
        _clock.Now = At(5, 30);
        await _host.Service<EntryStore>().UpsertAsync(
        [
            new Entry("arxiv:2611.10070", "Resolved against the channel", "Abstract.", ["A. Author"], "http://rss.arxiv.org/rss/arxiv.org/abs/2611.10070", null, 0, "arxiv"),
            new Entry("doi:10.1038/s41586-026-00071-1", "Stored without a link", "Abstract.", ["A. Author"], "/articles/s41586-026-00071-1", null, 0, "journal"),
            new Entry("arxiv:2611.10072", "Reviewed elsewhere", "Abstract.", ["A. Author"], "https://blog.example.org/review-10072", null, 0, "blog"),
        ], CancellationToken.None);

        await CollectAndSendAsync(
            ("arxiv", "Rss", Rss("http://rss.arxiv.org/rss/cs.LG",
                ArxivItem("2611.10070", "Resolved against the channel", ["A. Author"], "arxiv.org/abs/2611.10070"),
                ArxivItem("2611.10072", "Reviewed elsewhere", ["A. Author"], "https://arxiv.org/abs/2611.10072"))),
            ("journal", "Rss", Rss("https://www.nature.com/nature.rss",
                """<item><title>Stored without a link</title><link>https://www.nature.com/articles/s41586-026-00071-1</link><description>Abstract.</description><dc:identifier>doi:10.1038/s41586-026-00071-1</dc:identifier></item>""")));

        var links = Link().Matches(Mail("ada@example.org").TextBody!).Select(m => m.Value).ToList();
        Assert.Contains("https://arxiv.org/abs/2611.10070", links);
        Assert.Contains("https://www.nature.com/articles/s41586-026-00071-1", links);
        Assert.Contains("https://blog.example.org/review-10072", links);
        Assert.DoesNotContain(links, l => l.Contains("rss.arxiv.org", StringComparison.Ordinal));
    }

    /// <summary>What the README promises under PREFERENCES, one pair at a time.</summary>
    [Theory]
    [InlineData("José Álvarez", "Jose\u0301 A\u0301lvarez", true)] // NFC and NFD
    [InlineData("José Álvarez", "jose alvarez", true)] // accents and case
    [InlineData("JOSÉ ÁLVAREZ", "josé  álvarez", true)]
    [InlineData("Łukasz Kaiser", "Lukasz Kaiser", true)]
    [InlineData("Søren Hauberg", "Soren Hauberg", true)]
    [InlineData("Nguyễn Văn An", "Nguyen Van An", true)]
    [InlineData("Jürgen Schmidhuber", "Jurgen Schmidhuber", true)] // not "Juergen": ü is u
    [InlineData("Weiß", "Weiss", true)]
    [InlineData("Ｊｏｓé", "Jose", true)] // full-width letters
    [InlineData("J. Alvarez", "José Alvarez", false)] // initials are not expanded
    [InlineData("Alvarez, José", "José Alvarez", false)] // nor is word order
    [InlineData("Jean-Pierre Serre", "Jean Pierre Serre", false)] // punctuation counts
    [InlineData("Йоффе", "Иоффе", false)] // marks of other scripts are kept
    public void NamesAreComparedAfterNormalisationAndCaseFolding(string followed, string written, bool same) =>
        Assert.Equal(same, MatchText.Name(followed) == MatchText.Name(written));

    [Theory]
    [InlineData("Schrödinger", "Schro\u0308dinger bridges", true)]
    [InlineData("schrodinger", "SCHRÖDINGER BRIDGES", true)]
    [InlineData("fine-tuning", "Efficient \uFB01ne-tuning", true)] // the fi ligature of PDF-extracted titles
    [InlineData("large language", "Large\u00A0Language Models", true)] // a no-break space is a space
    [InlineData("graph", "Graphs", false)] // still whole words
    [InlineData("cafe", "cafe\u0301s", false)]
    [InlineData("σ", "ς", true)]
    public void KeywordsAreMatchedAfterTheSameFolding(string keyword, string title, bool matches)
    {
        var filter = new PaperFilter(new Preferences { Keywords = [keyword] });
        var paper = new CandidatePaper(1, title, "", [], "https://example.org/p", 0, null, "s", [], ["s"], 1);

        Assert.Equal(matches, filter.Matches(paper, out _));
    }
}
