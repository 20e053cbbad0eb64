using System.Net;
using System.Net.Http.Json;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>The web front over real HTTP (Kestrel on 127.0.0.1) with the real SMTP sink and SQLite.</summary>
public sealed class WebFrontTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Subscriptions:RateLimitPermits", "1000");
        _baseUrl = await _host.StartServiceAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    private Task<string> StatusOfAsync(string email) =>
        _host.QueryScalarAsync<string>($"SELECT status FROM subscribers WHERE email = '{email}'");

    private async Task<long> IdOfAsync(string email) =>
        await _host.QueryScalarAsync<long>($"SELECT id FROM subscribers WHERE email = '{email}'");

    private string Token(TokenPurpose purpose, long id, DateTimeOffset? expires = null, long episode = 0) =>
        _host.Service<LinkTokens>().Create(purpose, id, expires, episode);

    private async Task<MimeKit.MimeMessage> SubscribeByFormAsync(string email)
    {
        using var browser = new FormClient(_baseUrl);
        var (response, body) = await browser.SubmitAsync("/", "/subscribe", new() { ["email"] = email });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Check your inbox", body);
        return await _smtp.ForMailAsync(email);
    }

    [Fact]
    public async Task SubscribingByFormAndConfirmingActivatesTheSubscriber()
    {
        var mail = await SubscribeByFormAsync("ada@example.org");
        Assert.Equal("pending", await StatusOfAsync("ada@example.org"));
        var link = mail.ConfirmLink();
        Assert.StartsWith(_baseUrl + "/confirm?token=", link);

        using var browser = new FormClient(_baseUrl);
        var (page, body) = await browser.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Confirm subscription", body);
        Assert.Equal("pending", await StatusOfAsync("ada@example.org")); // a GET confirms nobody

        var (confirmed, confirmedBody) = await browser.SubmitAsync(link, "/confirm");
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
        Assert.Contains("You're subscribed", confirmedBody);
        Assert.Equal("active", await StatusOfAsync("ada@example.org"));
    }

    [Fact]
    public async Task ConfirmWithoutTheAntiforgeryTokenIsRefused()
    {
        var link = (await SubscribeByFormAsync("ada@example.org")).ConfirmLink();

        using var client = new FormClient(_baseUrl, cookies: false);
        var response = await client.Http.PostAsync("/confirm", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = new Uri(link).Query[7..] }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("pending", await StatusOfAsync("ada@example.org"));
    }

    [Fact]
    public async Task JsonSubscribeAnswersJsonAndStoresTopics()
    {
        using var client = new FormClient(_baseUrl);

        var response = await client.Http.PostAsJsonAsync("/subscribe", new { email = "grace@example.org", topics = new[] { "cs.LG", "cs.CL", "cs.LG" } });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("cs.LG,cs.CL", await _host.QueryScalarAsync<string>("SELECT topics FROM subscribers WHERE email = 'grace@example.org'"));
        await _smtp.ForMailAsync("grace@example.org");
    }

    [Fact]
    public async Task InvalidJsonAddressIsAProblemAndNothingIsStored()
    {
        using var client = new FormClient(_baseUrl);

        var response = await client.Http.PostAsJsonAsync("/subscribe", new { email = "Ada <ada@example.org>" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Fact]
    public async Task InvalidFormAddressShowsTheReasonAndStoresNothing()
    {
        using var browser = new FormClient(_baseUrl);

        var (response, body) = await browser.SubmitAsync("/", "/subscribe", new() { ["email"] = "a@example.org, b@example.org" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Enter a single bare address", body);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data")]
    public async Task OneClickUnsubscribeWorksWithoutCookiesAndIsIdempotent(string contentType)
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var url = "/unsubscribe?token=" + Token(TokenPurpose.Unsubscribe, await IdOfAsync("ada@example.org"));
        using var client = new FormClient(_baseUrl, cookies: false);
        HttpContent Body() => contentType == "multipart/form-data"
            ? new MultipartFormDataContent { { new StringContent("One-Click"), "List-Unsubscribe" } }
            : new StringContent("List-Unsubscribe=One-Click", System.Text.Encoding.ASCII, contentType);

        var first = await client.Http.PostAsync(url, Body());
        var second = await client.Http.PostAsync(url, Body());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Null(first.Headers.Location);
        Assert.Equal("unsubscribed", await StatusOfAsync("ada@example.org"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Null(second.Headers.Location);
    }

    [Fact]
    public async Task OneClickUnsubscribeOfAReaderAlreadyRemovedIsASuccess()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var token = Token(TokenPurpose.Unsubscribe, await IdOfAsync("ada@example.org"));
        Assert.Equal(0, (await _host.RunAsync("subscribers", "remove", "ada@example.org")).Exit);
        using var client = new FormClient(_baseUrl, cookies: false);

        var gone = await client.Http.PostAsync("/unsubscribe?token=" + token, new StringContent("List-Unsubscribe=One-Click", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        var again = await client.Http.PostAsync("/unsubscribe?token=" + token, new StringContent("List-Unsubscribe=One-Click", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        var page = await client.Http.GetAsync("/unsubscribe?token=" + token);
        var forged = await client.Http.PostAsync("/unsubscribe?token=" + token[..^2] + "xx", new StringContent("List-Unsubscribe=One-Click", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.OK, gone.StatusCode);
        Assert.Null(gone.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("nsubscribed", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode); // a tampered link is still refused
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Fact]
    public async Task GetOnAnUnsubscribeLinkChangesNothing()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        using var client = new FormClient(_baseUrl);

        var (response, body) = await client.GetAsync("/unsubscribe?token=" + Token(TokenPurpose.Unsubscribe, await IdOfAsync("ada@example.org")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<button type=\"submit\">Unsubscribe</button>", body);
        Assert.Equal("active", await StatusOfAsync("ada@example.org"));
    }

    [Fact]
    public async Task SubscribeAnswersIdenticallyForNewPendingActiveAndUnsubscribedAddresses()
    {
        await _host.RunAsync("subscribers", "add", "pending@example.org");
        await _host.RunAsync("subscribers", "add", "active@example.org", "--confirmed");
        await _host.RunAsync("subscribers", "add", "gone@example.org", "--confirmed");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'gone@example.org'");

        var answers = new List<string>();
        foreach (var email in new[] { "new@example.org", "pending@example.org", "active@example.org", "gone@example.org" })
        {
            using var browser = new FormClient(_baseUrl);
            var (form, formBody) = await browser.SubmitAsync("/", "/subscribe", new() { ["email"] = email });
            var json = await browser.Http.PostAsJsonAsync("/subscribe", new { email });
            answers.Add($"{(int)form.StatusCode} {string.Join(";", form.Headers.Select(h => h.Key).Where(k => k != "Date"))} {formBody} | {(int)json.StatusCode} {await json.Content.ReadAsStringAsync()}");
        }

        Assert.Single(answers.Distinct());
    }

    [Fact]
    public async Task AFilledHoneypotStoresNothingButAnswersAsUsual()
    {
        using var browser = new FormClient(_baseUrl);

        var (response, body) = await browser.SubmitAsync("/", "/subscribe", new() { ["email"] = "bot@example.org", ["website"] = "http://spam.example" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Check your inbox", body);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }

    [Fact]
    public async Task BadLinksAllGetTheSameNeutralPage()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org");
        var id = await IdOfAsync("ada@example.org");
        var episode = await _host.QueryScalarAsync<long>($"SELECT pending_since FROM subscribers WHERE id = {id}");
        var good = _host.Service<LinkTokens>().Create(TokenPurpose.Confirm, id, DateTimeOffset.UtcNow.AddDays(1), episode);
        string[] links =
        [
            "/confirm?token=" + good[..^3] + (good[^3] == 'x' ? "y" : "x") + good[^2..],           // tampered
            "/confirm?token=" + Token(TokenPurpose.Confirm, id, DateTimeOffset.UtcNow.AddDays(-1)), // expired
            "/confirm?token=" + Token(TokenPurpose.Unsubscribe, id),                                // wrong purpose
            "/confirm?token=" + Token(TokenPurpose.Confirm, 9999, DateTimeOffset.UtcNow.AddDays(1)), // unknown subscriber
            "/confirm", "/unsubscribe?token=nonsense", "/preferences?token=" + Token(TokenPurpose.Confirm, id, DateTimeOffset.UtcNow.AddDays(1)),
        ];
        using var client = new FormClient(_baseUrl);

        var answers = new List<string>();
        foreach (var link in links)
        {
            var (response, body) = await client.GetAsync(link);
            answers.Add($"{(int)response.StatusCode} {body}");
        }

        Assert.Single(answers.Distinct());
        Assert.StartsWith("400 ", answers[0]);
        Assert.Contains("Link invalid or expired", answers[0]);
        Assert.True((await client.GetAsync("/confirm?token=" + good)).Response.IsSuccessStatusCode);
    }

    [Fact]
    public async Task PausedSubscribersGetNoDigestAndTopicsAreSaved()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
        var preferences = "/preferences?token=" + Token(TokenPurpose.Preferences, await IdOfAsync("ada@example.org"));
        using var browser = new FormClient(_baseUrl);

        var (response, body) = await browser.SubmitAsync(preferences, "/preferences", new() { ["paused"] = "on", ["topics"] = "cs.LG, cs.CV" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Saved.", body);
        Assert.Equal("cs.LG,cs.CV", await _host.QueryScalarAsync<string>("SELECT topics FROM subscribers WHERE email = 'ada@example.org'"));
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("collect");
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Empty(_smtp.To("ada@example.org"));
        Assert.Single(_smtp.To("grace@example.org"));
    }

    [Fact]
    public async Task AnUnsubscribedReaderSeesTheirStatusOnThePreferencesPageAndCanSubscribeAgain()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'ada@example.org'");
        var preferences = "/preferences?token=" + Token(TokenPurpose.Preferences, await IdOfAsync("ada@example.org"));
        using var browser = new FormClient(_baseUrl);

        var (_, page) = await browser.GetAsync(preferences);
        Assert.Contains("You&#39;re unsubscribed and get no mail from us.", page);
        Assert.Contains("Subscribe again", page);
        Assert.DoesNotContain("Pause the daily digest", page);

        var (response, body) = await browser.SubmitAsync(preferences, "/preferences");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("You&#39;re subscribed and get the daily digest.", body);
        Assert.Contains("Pause the daily digest", body);
        Assert.Equal("active", await StatusOfAsync("ada@example.org"));
    }

    [Fact]
    public async Task AConfirmFormWithoutItsCookieIsOfferedAgainNotCalledAnInvalidLink()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org");
        var id = await IdOfAsync("ada@example.org");
        var episode = await _host.QueryScalarAsync<long>($"SELECT pending_since FROM subscribers WHERE id = {id}");
        var confirm = "/confirm?token=" + Token(TokenPurpose.Confirm, id, DateTimeOffset.UtcNow.AddDays(1), episode);
        using var withCookies = new FormClient(_baseUrl);
        var (_, page) = await withCookies.GetAsync(confirm);
        var fields = System.Text.RegularExpressions.Regex.Matches(page, "<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"")
            .ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        using var cookieless = new FormClient(_baseUrl, cookies: false);

        var response = await cookieless.Http.PostAsync("/confirm", new FormUrlEncodedContent(fields));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("Link invalid or expired", body);
        Assert.Contains("please press the button again", body);
        Assert.Contains("Confirm subscription", body);
        Assert.Equal("pending", await StatusOfAsync("ada@example.org"));
    }

    [Fact]
    public async Task DigestLinksLeadToWorkingUnsubscribeAndPreferencesPages()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("collect");
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        var digest = await _smtp.ForMailAsync("ada@example.org");
        var preferences = System.Text.RegularExpressions.Regex.Match(digest.TextBody!, @"https?://\S+/preferences\?token=\S+").Value;
        using var client = new FormClient(_baseUrl);

        Assert.Contains("Pause the daily digest", (await client.GetAsync(preferences)).Body);
        var oneClick = await client.Http.PostAsync(digest.Headers["List-Unsubscribe"]!.Trim('<', '>'),
            new StringContent("List-Unsubscribe=One-Click", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, oneClick.StatusCode);
        Assert.Equal("unsubscribed", await StatusOfAsync("ada@example.org"));
    }
}

public sealed class SubscribeRateLimitTests
{
    [Fact]
    public async Task TooManySubscribeRequestsFromOneAddressGet429()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost(new() { ["Newsletter:Subscriptions:RateLimitPermits"] = "3" });
        host.UseSmtp(smtp.Port);
        var baseUrl = await host.StartServiceAsync();
        using var client = new FormClient(baseUrl);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
            statuses.Add((await client.Http.PostAsJsonAsync("/subscribe", new { email = $"r{i}@example.org" })).StatusCode);

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(3L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }
}
