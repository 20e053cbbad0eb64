using System.Net;
using System.Net.Http.Headers;
using System.ServiceModel.Syndication;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Archive;

/// <summary>
/// The public archive and its feeds with real data: sources collected from fixtures, an issue sent to a
/// reader whose address and tokens are planted in the data, then every public answer searched for them.
/// </summary>
public sealed partial class ArchiveTests : IAsyncLifetime
{
    internal const string PlantedAddress = "planted.reader@example.org";

    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new();
    private readonly HttpClient _client = new();
    private string _baseUrl = "";
    private string _date = "";

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        await ArchiveData.SendAnIssueAsync(_host, _feeds);
        _baseUrl = await _host.StartServiceAsync(publicBaseUrl: "https://papers.example.org");
        _date = await _host.QueryScalarAsync<string>("SELECT issue_date FROM issues");
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _feeds.DisposeAsync();
        await _host.DisposeAsync();
    }

    private async Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _baseUrl + path);
        headers?.Invoke(request.Headers);
        var response = await _client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheIndexListsTheIssueAndItsPageShowsItsPapersEscaped()
    {
        var (index, indexBody) = await GetAsync("/archive");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"href=\"/archive/{_date}\"", indexBody);
        Assert.Contains("href=\"/feed.xml\"", indexBody);

        var (page, body) = await GetAsync($"/archive/{_date}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Why Language Models Hallucinate", body);
        // The paper's card as the digest shows it (the source gave a code repository and a project page).
        Assert.Contains("<a href=\"https://github.com/example/composed-paper\">Code</a>", body);
        Assert.Contains("<a href=\"https://example.github.io/composed-paper\">Project page</a>", body);
        // A hostile title from the feed arrives as text, never as markup.
        Assert.Contains("&lt;script&gt;", body);
        Assert.DoesNotContain("<script>alert", body);
        Assert.Contains("public, max-age=", page.Headers.CacheControl!.ToString());
        Assert.NotNull(page.Headers.ETag);
        Assert.NotNull(page.Content.Headers.LastModified);

        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/archive/2001-01-01")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/archive/not-a-date")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/archive?page=2")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/archive?page=x")).Response.StatusCode);
    }

    [Fact]
    public async Task ARepeatedRequestWithTheETagOrTheDateGets304WithoutABody()
    {
        foreach (var path in new[] { "/archive", $"/archive/{_date}", "/feed.xml", "/feed.json", "/feed.json?topic=cs.AI" })
        {
            var (first, body) = await GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);

            var (byTag, tagBody) = await GetAsync(path, h => h.IfNoneMatch.Add(first.Headers.ETag!));
            Assert.Equal(HttpStatusCode.NotModified, byTag.StatusCode);
            Assert.Equal("", tagBody);

            var (byDate, _) = await GetAsync(path, h => h.IfModifiedSince = first.Content.Headers.LastModified);
            Assert.Equal(HttpStatusCode.NotModified, byDate.StatusCode);

            // An old copy gets the page again, with the same validator.
            var (stale, staleBody) = await GetAsync(path, h => h.IfNoneMatch.Add(new EntityTagHeaderValue("\"old\"")));
            Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
            Assert.Equal(body, staleBody);
            Assert.Equal(first.Headers.ETag, stale.Headers.ETag);
        }
    }

    [Fact]
    public async Task TheAtomFeedParsesBackWithOneItemPerIssueLinkingItsPage()
    {
        var (response, body) = await GetAsync("/feed.xml");
        Assert.Equal("application/atom+xml", response.Content.Headers.ContentType?.MediaType);

        using var reader = XmlReader.Create(new StringReader(body));
        var feed = SyndicationFeed.Load(reader);
        var item = Assert.Single(feed.Items);
        Assert.Equal($"https://papers.example.org/archive/{_date}", item.Links.Single(l => l.RelationshipType == "alternate").Uri.AbsoluteUri);
        Assert.Equal($"https://papers.example.org/archive/{_date}", item.Id);
        var html = Assert.IsType<TextSyndicationContent>(item.Content).Text;
        Assert.Contains("Why Language Models Hallucinate", html);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains(feed.Links, l => l.RelationshipType == "self" && l.Uri.AbsoluteUri == "https://papers.example.org/feed.xml");
        Assert.NotEqual(default, item.LastUpdatedTime);
    }

    [Fact]
    public async Task TheJsonFeedKeepsTheJsonFeedRules()
    {
        var (response, body) = await GetAsync("/feed.json");
        Assert.Equal("application/feed+json", response.Content.Headers.ContentType?.MediaType);

        var feed = JsonDocument.Parse(body).RootElement;
        JsonFeedRules.AssertValid(feed);
        Assert.Equal("https://papers.example.org/feed.json", feed.GetProperty("feed_url").GetString());
        var item = Assert.Single(feed.GetProperty("items").EnumerateArray());
        Assert.Equal($"https://papers.example.org/archive/{_date}", item.GetProperty("url").GetString());
        Assert.Contains("Why Language Models Hallucinate", item.GetProperty("content_html").GetString());
    }

    [Fact]
    public async Task ATopicNarrowsTheFeedAndThePageAsAReadersTopicsDo()
    {
        var all = JsonDocument.Parse((await GetAsync("/feed.json")).Body).RootElement.GetProperty("items")[0].GetProperty("content_html").GetString()!;
        var math = JsonDocument.Parse((await GetAsync("/feed.json?topic=math")).Body).RootElement;
        JsonFeedRules.AssertValid(math);
        var mathHtml = math.GetProperty("items")[0].GetProperty("content_html").GetString()!;
        Assert.Equal("Daily Papers: math", math.GetProperty("title").GetString());
        // An archive without a dot covers its categories (math.AP, math.OC): fewer papers than the whole issue.
        Assert.True(mathHtml.Length < all.Length);
        Assert.DoesNotContain("Why Language Models Hallucinate", mathHtml);

        var atom = SyndicationFeed.Load(XmlReader.Create(new StringReader((await GetAsync("/feed.xml?topic=cs.AI")).Body)));
        Assert.Contains("Why Language Models Hallucinate", ((TextSyndicationContent)atom.Items.Single().Content).Text);
        Assert.Contains("?topic=cs.AI", atom.Items.Single().Id);

        var (page, pageBody) = await GetAsync($"/archive/{_date}?topic=cs.AI");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("in cs.AI", pageBody);
        // No paper of the topic that day: no issue of it.
        Assert.Empty(JsonDocument.Parse((await GetAsync("/feed.json?topic=q-bio")).Body).RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"/archive/{_date}?topic=q-bio")).Response.StatusCode);

        var (refused, sentence) = await GetAsync("/feed.xml?topic=cs.CVV");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("did you mean 'cs.CV'", sentence);
    }

    [Fact]
    public async Task NoArchiveAnswerHoldsAReadersAddressOrToken()
    {
        var tokens = ArchiveData.TokensInTheOutbox(_host);
        Assert.NotEmpty(tokens);
        foreach (var path in new[] { "/archive", $"/archive/{_date}", "/feed.xml", "/feed.json", "/feed.xml?topic=cs.AI", "/feed.json?topic=cs", $"/archive/{_date}?topic=cs.AI" })
        {
            var (response, body) = await GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotContain(ArchiveTests.PlantedAddress, body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("planted.reader", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("token=", body, StringComparison.OrdinalIgnoreCase);
            foreach (var token in tokens)
                Assert.DoesNotContain(token, body, StringComparison.Ordinal);
            Assert.False(response.Headers.Contains("Set-Cookie"), $"{path} sets a cookie");
        }
    }

    [Fact]
    public async Task TheDigestLinksTheDaysPublicPage()
    {
        var mail = ArchiveData.OutboxMail(_host).Single();
        Assert.Contains($"https://papers.example.org/archive/{_date}", mail.TextBody);
        Assert.Contains($"href=\"https://papers.example.org/archive/{_date}\"", mail.HtmlBody);
        var subscribe = (await GetAsync("/")).Body;
        Assert.Contains("href=\"https://papers.example.org/archive\"", subscribe);
        Assert.Contains("href=\"https://papers.example.org/feed.xml\"", subscribe);
    }
}

/// <summary>With <c>Archive:Enabled</c> false nothing of it answers, and digests carry no link to it.</summary>
public sealed class ArchiveOffTests : IAsyncLifetime
{
    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new(new() { ["Newsletter:Archive:Enabled"] = "false" });

    public async ValueTask InitializeAsync() => _feeds = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _feeds.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task EveryArchiveAddressIs404AndTheDigestHasNoViewInBrowserLink()
    {
        await ArchiveData.SendAnIssueAsync(_host, _feeds);
        var baseUrl = await _host.StartServiceAsync(publicBaseUrl: "https://papers.example.org");
        var date = await _host.QueryScalarAsync<string>("SELECT issue_date FROM issues");
        using var client = new HttpClient();

        foreach (var path in new[] { "/archive", $"/archive/{date}", "/feed.xml", "/feed.json", "/feed.xml?topic=cs.AI" })
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(baseUrl + path)).StatusCode);
        var mail = ArchiveData.OutboxMail(_host).Single();
        Assert.DoesNotContain("/archive", mail.TextBody);
        Assert.DoesNotContain("View in browser", mail.HtmlBody);
        Assert.DoesNotContain("/feed.xml", await client.GetStringAsync(baseUrl + "/"));
    }
}

/// <summary>The JSON Feed 1.1 rules (https://www.jsonfeed.org/version/1.1/) a reader relies on.</summary>
internal static class JsonFeedRules
{
    public static void AssertValid(JsonElement feed)
    {
        Assert.Equal("https://jsonfeed.org/version/1.1", feed.GetProperty("version").GetString());
        Assert.False(string.IsNullOrEmpty(feed.GetProperty("title").GetString()));
        foreach (var url in new[] { "home_page_url", "feed_url" })
            Assert.True(Uri.TryCreate(feed.GetProperty(url).GetString(), UriKind.Absolute, out _), $"{url} is not an absolute URL");
        Assert.Equal(JsonValueKind.Array, feed.GetProperty("items").ValueKind);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in feed.GetProperty("items").EnumerateArray())
        {
            // id is required and a string, unique in the feed; content_html or content_text is required.
            Assert.Equal(JsonValueKind.String, item.GetProperty("id").ValueKind);
            Assert.True(ids.Add(item.GetProperty("id").GetString()!), "an item id repeats");
            Assert.True(item.TryGetProperty("content_html", out _) || item.TryGetProperty("content_text", out _), "an item has no content");
            Assert.True(Uri.TryCreate(item.GetProperty("url").GetString(), UriKind.Absolute, out _));
            // Dates are RFC 3339.
            foreach (var date in new[] { "date_published", "date_modified" })
                Assert.True(DateTimeOffset.TryParseExact(item.GetProperty(date).GetString(), "yyyy-MM-dd'T'HH:mm:ssK", null, System.Globalization.DateTimeStyles.None, out _), $"{date} is not RFC 3339");
        }
    }
}

/// <summary>Real data for the archive: two sources collected, a reader planted, one issue sent to the pickup folder.</summary>
internal static partial class ArchiveData
{
    public static async Task SendAnIssueAsync(TestHost host, FixtureServer feeds)
    {
        feeds.Serve("/rss/cs.AI", "arxiv_rss_cs.AI.xml");
        feeds.Serve("/api/daily_papers", "hf_daily_papers.json");
        // A hostile title, as a feed could carry one.
        feeds.Files["/hostile.json"] = System.Text.Encoding.UTF8.GetBytes("""
            {"version":"https://jsonfeed.org/version/1.1","title":"x","items":[{"id":"h1","url":"https://example.org/h1","title":"<script>alert(1)</script> Hostile","content_text":"Abstract & <b>bold</b>"}]}
            """);
        host.UseSources(("arxiv-cs.AI", "Rss", feeds.Url("/rss/cs.AI")), ("hf", "HuggingFaceDaily", feeds.Url("/api/daily_papers")), ("lab", "JsonFeed", feeds.Url("/hostile.json")));
        var collected = await host.RunAsync("collect");
        Assert.True(collected.Exit == 0, collected.ToString());
        var added = await host.RunAsync("subscribers", "add", ArchiveTests.PlantedAddress, "--confirmed");
        Assert.True(added.Exit == 0, added.ToString());
        var sent = await host.RunAsync("send-now");
        Assert.True(sent.Exit == 0, sent.ToString());
        Assert.Single(OutboxMail(host));
    }

    public static List<MimeKit.MimeMessage> OutboxMail(TestHost host) =>
        Directory.GetFiles(host.Outbox, "*.eml").Select(f => MimeKit.MimeMessage.Load(f)).ToList();

    /// <summary>Every token in the reader's mail (unsubscribe, preferences, feedback links and headers).</summary>
    public static HashSet<string> TokensInTheOutbox(TestHost host)
    {
        var text = string.Join("\n", Directory.GetFiles(host.Outbox, "*.eml").Select(File.ReadAllText));
        var decoded = string.Join("\n", OutboxMail(host).Select(m => m.TextBody + m.HtmlBody + m.Headers.ToString()));
        return TokenPattern().Matches(text + decoded).Select(m => m.Groups[1].Value).Where(t => t.Length >= 16).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"token=([A-Za-z0-9_\-\.%]+)")]
    private static partial Regex TokenPattern();
}
