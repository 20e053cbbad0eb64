using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Playwright;
using Newsletter.Subscriptions;
using Newsletter.Tests.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Admin;

/// <summary>
/// The operator's console on a real service with real data: readers added through the CLI, a real
/// collect and send (pickup), a bounce and a deferral written into the ledger as the recorder writes
/// them, a reader skipped because nothing matched. Pages in headless Chromium at 390 and 1280 px
/// (screenshots in <c>artifacts/</c> of the test output), actions end to end.
/// </summary>
public sealed class ConsoleTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";

    private readonly TestHost _host = new(new()
    {
        ["Newsletter:Admin:Password"] = Password,
        // The operator's log at its usual level: the console's actions are Information lines.
        ["Logging:LogLevel:Newsletter.Admin.Console"] = "Information",
    });

    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        Assert.Equal(0, (await _host.RunAsync("collect")).Exit);
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed", "--keywords", "hallucinate", "--send-hour", "8")).Exit);
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed")).Exit);
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "picky@example.org", "--confirmed", "--keywords", "zymurgy")).Exit);
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "full@example.org", "--confirmed")).Exit);
        // Joined before the papers came, so that they are theirs.
        await _host.ExecuteAsync("UPDATE subscribers SET served_until = 0");
        var sent = await _host.RunAsync("send-now");
        Assert.True(sent.Exit == 0, sent.ToString());
        // What the outcome recorder writes for a 550 (bounce, the reader suspended) and a 452 (deferred).
        await _host.ExecuteAsync("""
            UPDATE deliveries SET status = 'bounced', sent_at = NULL, last_error = '550 5.1.1 <grace@example.org>: Recipient address rejected: User unknown'
            WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'grace@example.org');
            UPDATE subscribers SET status = 'bounced', hard_bounces = 1, status_reason = '550 5.1.1 <grace@example.org>: Recipient address rejected: User unknown'
            WHERE email = 'grace@example.org';
            UPDATE deliveries SET status = 'pending', sent_at = NULL, attempts = 2, next_attempt_at = next_attempt_at + 600000, last_error = '452 4.2.2 Mailbox full'
            WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'full@example.org');
            """);
        // Pending: the confirmation mail went out when added.
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "pat@example.org")).Exit);
        _baseUrl = await _host.StartServiceAsync();
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private async Task<long> IdOf(string email) => await _host.QueryScalarAsync<long>($"SELECT id FROM subscribers WHERE email = '{email}'");

    private FormClient AdminClient(string user = "alice")
    {
        var client = new FormClient(_baseUrl);
        client.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Password}")));
        return client;
    }

    /// <summary>Presses a button of the reader's page: the form's antiforgery field, with the cookie of the page's answer.</summary>
    private static async Task<(HttpResponseMessage Response, string Body)> PostFromPageAsync(FormClient client, long id, string action)
    {
        var (_, page) = await client.GetAsync($"/admin/readers/{id}");
        // The page's forms share one token; a button the page does not show (send-test for a paused reader) is posted with it too.
        var field = System.Text.RegularExpressions.Regex.Match(page, "action=\"/admin/readers/\\d+/[a-z-]+\"><input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]+)\"");
        Assert.True(field.Success, $"no button on the page:\n{page}");
        var response = await client.Http.PostAsync($"/admin/readers/{id}/{action}",
            new FormUrlEncodedContent([new(WebUtility.HtmlDecode(field.Groups[1].Value), WebUtility.HtmlDecode(field.Groups[2].Value))]));
        return (response, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheDashboardShowsReadersDigestsSourcesRefusalsAndSkips()
    {
        using var client = AdminClient();

        var (response, page) = await client.GetAsync("/admin");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("<svg", page);
        Assert.DoesNotContain("<script", page);
        // Readers now: 2 active (ada, picky), 1 deferred is still active (full), 1 bounced, 1 pending.
        Assert.Contains("<li><strong>3</strong>active</li>", page);
        Assert.Contains("<li><strong>1</strong>bounced</li>", page);
        Assert.Contains("<li><strong>1</strong>pending</li>", page);
        // Today's issue: 1 sent (ada), 1 bounced (grace), 1 deferred (full), so the send is in progress.
        Assert.Matches(@"<td>\d{4}-\d\d-\d\d</td><td class=""num"">1</td><td class=""num"">1</td><td class=""num"">1</td><td class=""num"">0</td><td class=""num"">0</td>", page);
        Assert.Contains("<strong>2 / 3</strong>", page);
        Assert.Contains("Mailbox full", page);
        Assert.Contains("User unknown", page);
        Assert.Contains("hf", page);
        Assert.Contains("picky@example.org", page);
        var reason = await _host.QueryScalarAsync<string>("SELECT reason FROM digest_skips k JOIN subscribers s ON s.id = k.subscriber_id WHERE s.email = 'picky@example.org'");
        Assert.Contains(WebUtility.HtmlEncode(reason), page);
    }

    [Fact]
    public async Task TheConsoleNeedsTheAdminCredential()
    {
        using var anonymous = new FormClient(_baseUrl);
        using var wrong = AdminClient();
        wrong.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:guess")));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Http.GetAsync("/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Http.GetAsync("/admin/readers?q=ada")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Http.PostAsync($"/admin/readers/{await IdOf("ada@example.org")}/pause", new FormUrlEncodedContent([]))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.Http.GetAsync("/admin")).StatusCode);
        Assert.Equal(0, await _host.QueryScalarAsync<long>("SELECT paused FROM subscribers WHERE email = 'ada@example.org'"));
    }

    [Fact]
    public async Task SearchFindsReadersByAnyPartOfTheAddressAndTakesWildcardsLiterally()
    {
        using var client = AdminClient();

        var (_, byPart) = await client.GetAsync("/admin/readers?q=ADA%40EXAMPLE");
        var (_, wildcard) = await client.GetAsync("/admin/readers?q=%25");
        var (_, underscore) = await client.GetAsync("/admin/readers?q=a_a");
        var (_, domain) = await client.GetAsync("/admin/readers?q=example.org");

        Assert.Contains($"href=\"/admin/readers/{await IdOf("ada@example.org")}\">ada@example.org</a>", byPart);
        Assert.DoesNotContain("grace@example.org", byPart);
        Assert.Contains("No reader", wildcard);
        Assert.Contains("No reader", underscore);
        foreach (var email in new[] { "ada", "grace", "picky", "full", "pat" })
            Assert.Contains($">{email}@example.org</a>", domain);
        Assert.Contains("<span class=\"status bounced\">bounced</span>", domain);
    }

    [Fact]
    public async Task AReadersPageShowsStatusPreferencesCursorLedgerAndSkips()
    {
        using var client = AdminClient();

        var (_, ada) = await client.GetAsync($"/admin/readers/{await IdOf("ada@example.org")}");
        var (_, grace) = await client.GetAsync($"/admin/readers/{await IdOf("grace@example.org")}");
        var (_, picky) = await client.GetAsync($"/admin/readers/{await IdOf("picky@example.org")}");
        var (_, full) = await client.GetAsync($"/admin/readers/{await IdOf("full@example.org")}");
        var (missing, _) = await client.GetAsync("/admin/readers/999999");

        Assert.Contains("<span class=\"status active\">active</span>", ada);
        Assert.Contains("hallucinate", ada);
        Assert.Contains("08:00", ada);
        Assert.Contains("papers collected after", ada);
        var messageId = await _host.QueryScalarAsync<string>("SELECT message_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'ada@example.org'");
        Assert.Contains(WebUtility.HtmlEncode(messageId), ada);
        Assert.Contains("<span class=\"status sent\">sent</span>", ada);
        Assert.Contains("User unknown", grace);
        Assert.Contains("<span class=\"status bounced\">bounced</span>", grace);
        Assert.Contains("Mailbox full", full);
        Assert.Contains("<span class=\"status deferred\">deferred</span>", full);
        var reason = await _host.QueryScalarAsync<string>("SELECT reason FROM digest_skips");
        Assert.Contains(WebUtility.HtmlEncode(reason), picky);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task AnActionWithoutTheFormsTokenIsRefusedAndChangesNothing()
    {
        var id = await IdOf("ada@example.org");
        using var client = AdminClient("mallory");
        // A token that is not the console's (a page of the public site's, or made up) fails as none does.
        var (_, subscribePage) = await client.GetAsync("/");

        var none = await client.Http.PostAsync($"/admin/readers/{id}/unsubscribe", new FormUrlEncodedContent([]));
        var forged = await client.Http.PostAsync($"/admin/readers/{id}/unsubscribe", new FormUrlEncodedContent([new("__RequestVerificationToken", "CfDJ8forged")]));
        using var apiKey = new FormClient(_baseUrl);
        apiKey.Http.DefaultRequestHeaders.Add("X-Api-Key", Password);
        var script = await apiKey.Http.PostAsync($"/admin/readers/{id}/remove", new FormUrlEncodedContent([]));

        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Contains("Nothing was done", await none.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, script.StatusCode);
        Assert.Equal("active", await _host.QueryScalarAsync<string>($"SELECT status FROM subscribers WHERE id = {id}"));
        Assert.Contains(_host.Logs, line => line.Contains("Admin mallory", StringComparison.Ordinal) && line.Contains("refused without a valid antiforgery token", StringComparison.Ordinal));
        Assert.DoesNotContain(_host.Logs, line => line.Contains("Admin mallory", StringComparison.Ordinal) && line.Contains("unsubscribe ada@example.org", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EachActionWorksFromThePageAndIsLoggedWithWhoDidIt()
    {
        // A reader who joined after the send: a test of their digest has papers to show.
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "newbie@example.org", "--confirmed")).Exit);
        await _host.ExecuteAsync("UPDATE subscribers SET served_until = 0 WHERE email = 'newbie@example.org'");
        var newbie = await IdOf("newbie@example.org");
        var pat = await IdOf("pat@example.org");
        await _host.ExecuteAsync("UPDATE subscribers SET confirmation_sent_at = 0 WHERE email = 'pat@example.org'");
        using var client = AdminClient("alice");

        async Task<string> Act(long id, string action, HttpStatusCode expected = HttpStatusCode.OK)
        {
            var (response, body) = await PostFromPageAsync(client, id, action);
            Assert.True(expected == response.StatusCode, $"{action}: {(int)response.StatusCode}\n{body}");
            return body;
        }

        var outbox = Directory.GetFiles(_host.Outbox).Length;
        Assert.Contains("Paused newbie@example.org", await Act(newbie, "pause"));
        Assert.Equal(1, await _host.QueryScalarAsync<long>($"SELECT paused FROM subscribers WHERE id = {newbie}"));
        Assert.Contains("is paused", await Act(newbie, "send-test", HttpStatusCode.Conflict));
        Assert.Contains("Resumed newbie@example.org", await Act(newbie, "resume"));
        Assert.Equal(0, await _host.QueryScalarAsync<long>($"SELECT paused FROM subscribers WHERE id = {newbie}"));
        Assert.Contains("Sent issue", await Act(newbie, "send-test"));
        Assert.Equal(outbox + 1, Directory.GetFiles(_host.Outbox).Length);
        Assert.Contains("Confirmation mail sent to pat@example.org", await Act(pat, "resend-confirmation"));
        Assert.Equal(outbox + 2, Directory.GetFiles(_host.Outbox).Length);
        Assert.Contains("not sent again before", await Act(pat, "resend-confirmation"));
        Assert.Equal(outbox + 2, Directory.GetFiles(_host.Outbox).Length);
        Assert.Contains("Unsubscribed newbie@example.org", await Act(newbie, "unsubscribe"));
        Assert.Equal("unsubscribed by the operator (alice)", await _host.QueryScalarAsync<string>($"SELECT status_reason FROM subscribers WHERE id = {newbie}"));
        Assert.Contains("Removed newbie@example.org", await Act(newbie, "remove"));
        Assert.Equal(0, await _host.QueryScalarAsync<long>($"SELECT COUNT(*) FROM subscribers WHERE id = {newbie}"));

        foreach (var action in new[] { "pause", "resume", "send-test", "unsubscribe", "remove" })
            Assert.Contains(_host.Logs, line => line.StartsWith("Newsletter.Admin.Console: Admin alice", StringComparison.Ordinal) && line.Contains($": {action} newbie@example.org (reader {newbie})", StringComparison.Ordinal));
        Assert.Contains(_host.Logs, line => line.Contains("Admin alice", StringComparison.Ordinal) && line.Contains("resend-confirmation pat@example.org", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubscribersShowPrintsWhatTheReadersPageShows()
    {
        var ada = await _host.RunAsync("subscribers", "show", "ADA@example.org");
        var grace = await _host.RunAsync("subscribers", "show", "grace@example.org");
        var picky = await _host.RunAsync("subscribers", "show", "picky@example.org");
        var full = await _host.RunAsync("subscribers", "show", "full@example.org");
        var nobody = await _host.RunAsync("subscribers", "show", "nobody@example.org");
        var invalid = await _host.RunAsync("subscribers", "show", "not an address");

        Assert.Equal(0, ada.Exit);
        Assert.StartsWith("ada@example.org\n", ada.Output.ReplaceLineEndings("\n"));
        Assert.Contains("  status       active (confirmed on ", ada.Output);
        Assert.Contains("  preferences  keywords hallucinate; daily; at 08:00", ada.Output);
        Assert.Matches(@"  cursor       papers collected after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; last digest #\d+", ada.Output);
        Assert.Matches(@"    \d{4}-\d\d-\d\d  digest #\d+ \(1 paper\)  sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  <digest\.", ada.Output);
        Assert.Contains("  skipped      never", ada.Output);
        Assert.Contains("  status       bounced (550 5.1.1 <grace@example.org>: Recipient address rejected: User unknown)", grace.Output);
        Assert.Contains("bounced: 550 5.1.1", grace.Output);
        Assert.Contains("deferred after 2 attempt(s), next ", full.Output);
        Assert.Contains("452 4.2.2 Mailbox full", full.Output);
        var reason = await _host.QueryScalarAsync<string>("SELECT reason FROM digest_skips");
        Assert.Contains($"  {reason}", picky.Output);
        Assert.Contains("  digests      none", picky.Output);
        Assert.Equal(1, nobody.Exit);
        Assert.Contains("nobody@example.org is not a subscriber.", nobody.Error);
        Assert.Equal(1, invalid.Exit);
    }

    [Fact]
    public async Task StatusHistoryCountsEachReaderFromTheDayTheyJoinedConfirmedOrLeft()
    {
        // Ada joined 20 days ago and confirmed 18 days ago; grace bounced 5 days ago (her delivery's time).
        var day = 86_400_000L;
        await _host.ExecuteAsync($"""
            UPDATE subscribers SET created_at = created_at - {20 * day}, confirmed_at = confirmed_at - {18 * day} WHERE email = 'ada@example.org';
            UPDATE deliveries SET created_at = created_at - {5 * day} WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'grace@example.org');
            UPDATE subscribers SET created_at = created_at - {10 * day}, confirmed_at = confirmed_at - {10 * day} WHERE email = 'grace@example.org';
            """);
        var report = _host.Service<SubscriberReport>();

        var history = await report.StatusHistoryAsync(30, CancellationToken.None);
        var counts = await report.CountsAsync(CancellationToken.None);

        Assert.Equal(30, history.Count);
        var today = history[^1];
        Assert.Equal(counts.GetValueOrDefault("active") + counts.GetValueOrDefault("paused"), today.Active);
        Assert.Equal(counts["bounced"], today.Bounced);
        Assert.Equal(counts["pending"], today.Pending);
        Assert.Equal((0L, 0L, 0L, 0L), (history[^22].Pending, history[^22].Active, history[^22].Unsubscribed, history[^22].Bounced));
        Assert.Equal((1L, 0L), (history[^21].Pending, history[^21].Active)); // ada joined
        Assert.Equal((0L, 1L), (history[^19].Pending, history[^19].Active)); // ada confirmed
        Assert.Equal((2L, 0L), (history[^11].Active, history[^11].Bounced)); // grace joined and confirmed
        Assert.Equal((1L, 1L), (history[^6].Active, history[^6].Bounced)); // grace bounced
    }

    [Fact]
    public async Task ASendRecordsWhichRunSentEachDigestAndAFinishedDayIsCountedOnce()
    {
        var sentBy = await _host.QueryScalarAsync<string>("SELECT sent_by FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'ada@example.org'");
        var report = _host.Service<Newsletter.Delivery.LedgerReport>();
        var old = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-5).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        // Today's issue, finished and moved five days back.
        await _host.ExecuteAsync($"UPDATE deliveries SET status = 'sent', sent_at = created_at WHERE status = 'pending'; UPDATE issues SET issue_date = '{old}'");

        var first = await report.OutcomesAsync(DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-30), CancellationToken.None);
        await _host.ExecuteAsync("DELETE FROM deliveries WHERE status = 'bounced'");
        var again = await report.OutcomesAsync(DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-30), CancellationToken.None);

        Assert.Matches(@"^[^/]+/\d+/[0-9a-f]{32}$", sentBy);
        Assert.Equal(new Newsletter.Delivery.DayOutcomes(old, 2, 0, 1, 0, 0, 0), Assert.Single(first));
        Assert.Equal(first, again); // counted once within LedgerReport.FinishedDayReuse
    }

    [Fact]
    public async Task TheConsoleReadsWellOnAPhoneAndOnADesktop()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await BrowserFlowTests.LaunchChromiumAsync(playwright);
        Directory.CreateDirectory(BrowserFlowTests.ArtifactsDirectory);
        var ada = await IdOf("ada@example.org");
        var grace = await IdOf("grace@example.org");
        foreach (var width in new[] { 390, 1280 })
        {
            var context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = width, Height = 844 },
                HttpCredentials = new HttpCredentials { Username = "alice", Password = Password },
            });
            var page = await context.NewPageAsync();
            foreach (var (name, url) in new[] { ("dashboard", "/admin"), ("readers", "/admin/readers?q=example"), ("reader", $"/admin/readers/{ada}"), ("reader-bounced", $"/admin/readers/{grace}") })
            {
                var response = await page.GotoAsync(_baseUrl + url);
                Assert.Equal(200, response!.Status);
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFlowTests.ArtifactsDirectory, $"console-{name}-{width}.png"), FullPage = true });
                var scroll = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
                Assert.True(scroll[0] <= scroll[1], $"{url} at {width} px scrolls sideways: {scroll[0]} px wide");
            }
            // The charts are drawn (bars, not an empty box), and readable at this width.
            await page.GotoAsync(_baseUrl + "/admin");
            Assert.True(await page.Locator("#subscribers svg rect[fill='#2e7d32']").CountAsync() > 0);
            var chartWidth = await page.EvaluateAsync<double>("() => document.querySelector('#subscribers svg').getBoundingClientRect().width");
            Assert.InRange(chartWidth, 300, 1280);
            await context.CloseAsync();
        }

        // A click through: search, open the reader, pause them.
        var phone = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            HttpCredentials = new HttpCredentials { Username = "alice", Password = Password },
        });
        var tab = await phone.NewPageAsync();
        await tab.GotoAsync(_baseUrl + "/admin/readers");
        await tab.FillAsync("#q", "ada");
        await tab.ClickAsync("form.search button");
        await tab.ClickAsync("text=ada@example.org");
        await tab.ClickAsync("button:has-text('Pause')");
        Assert.Contains("Paused ada@example.org", await tab.InnerTextAsync(".notice"));
        await tab.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFlowTests.ArtifactsDirectory, "console-reader-paused-390.png"), FullPage = true });
        Assert.Equal(1, await _host.QueryScalarAsync<long>($"SELECT paused FROM subscribers WHERE id = {ada}"));
        Assert.Contains(_host.Logs, line => line.Contains("Admin alice", StringComparison.Ordinal) && line.Contains($"pause ada@example.org (reader {ada})", StringComparison.Ordinal));
    }
}
