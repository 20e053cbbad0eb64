using Microsoft.Playwright;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>
/// The pages as a visitor meets them, in Debian's headless Chromium under the service's own
/// Content-Security-Policy: the time-zone guess, forms that keep what was typed, the preferences
/// page on a phone, and no failed request (favicon included).
/// </summary>
public sealed class WebPagesBrowserTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _baseUrl = "";

    public async ValueTask InitializeAsync()
    {
        SystemPrograms.RequireChromium();
        _host.UseSmtp(_smtp.Port);
        _baseUrl = await _host.StartServiceAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await BrowserFlowTests.LaunchChromiumAsync(_playwright);
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    /// <summary>A page that records what a visitor would never want: console errors (CSP reports among them), script errors, failed requests.</summary>
    private async Task<(IPage Page, List<string> Problems)> OpenAsync(BrowserNewContextOptions? options = null)
    {
        var context = await _browser.NewContextAsync(options ?? new BrowserNewContextOptions());
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") lock (problems) problems.Add($"console {message.Type}: {message.Text}"); };
        page.PageError += (_, error) => { lock (problems) problems.Add($"page error: {error}"); };
        page.Response += (_, response) => { if (response.Status >= 400) lock (problems) problems.Add($"{response.Status} {response.Url}"); };
        page.RequestFailed += (_, request) => { lock (problems) problems.Add($"failed {request.Url}: {request.Failure}"); };
        if (options?.JavaScriptEnabled != false)
            // Injected by the browser itself, outside the page's policy: counts every violation the page causes.
            await page.AddInitScriptAsync("document.addEventListener('securitypolicyviolation', e => (window.__violations = window.__violations || []).push(e.violatedDirective + ' ' + e.blockedURI))");
        return (page, problems);
    }

    private static async Task<string[]> ViolationsAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("() => window.__violations || []");

    private string PreferencesLink(long id) =>
        _host.Service<MailLinks>().Preferences(id).Replace("https://papers.example.org", _baseUrl, StringComparison.Ordinal);

    private Task<string> StoredPreferencesAsync(long id) => _host.QueryScalarAsync<string>(
        "SELECT topics || '|' || keywords || '|' || COALESCE(time_zone, '-') || '|' || COALESCE(CAST(send_hour AS TEXT), '-') || '|' || COALESCE(CAST(weekdays AS TEXT), '-') || '|' || cadence FROM subscribers WHERE id = " + id);

    [Fact]
    public async Task AVisitorInTokyoIsSubscribedWithTheirZoneGuessedUnderThePagesOwnPolicy()
    {
        var (page, problems) = await OpenAsync(new BrowserNewContextOptions { TimezoneId = "Asia/Tokyo" });

        await page.GotoAsync(_baseUrl + "/");
        // A real value the visitor sees and can change, not a look-alike placeholder.
        Assert.Equal("Asia/Tokyo", await page.InputValueAsync("#timeZone"));
        Assert.Null(await page.GetAttributeAsync("#timeZone", "placeholder"));
        await page.FillAsync("#email", "tokyo@example.org");
        await page.ClickAsync("button[type=submit]");

        Assert.Equal("Check your inbox", await page.InnerTextAsync("h1"));
        Assert.Equal("Asia/Tokyo", await _host.QueryScalarAsync<string>("SELECT time_zone FROM subscribers WHERE email = 'tokyo@example.org' AND status = 'pending'"));
        Assert.Empty(await ViolationsAsync(page));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task AGuessedZoneTheVisitorChangesIsTheOneStored()
    {
        var (page, problems) = await OpenAsync(new BrowserNewContextOptions { TimezoneId = "Asia/Tokyo" });
        await page.GotoAsync(_baseUrl + "/");

        await page.ClickAsync("summary");
        await page.FillAsync("#timeZone", "Europe/Lisbon");
        await page.FillAsync("#email", "lisbon@example.org");
        await page.ClickAsync("button[type=submit]");

        Assert.Equal("Europe/Lisbon", await _host.QueryScalarAsync<string>("SELECT time_zone FROM subscribers WHERE email = 'lisbon@example.org'"));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task WithoutJavaScriptTheFormSubscribesWithTheDefaultZone()
    {
        var (page, problems) = await OpenAsync(new BrowserNewContextOptions { TimezoneId = "Asia/Tokyo", JavaScriptEnabled = false });

        await page.GotoAsync(_baseUrl + "/");
        Assert.Equal("", await page.InputValueAsync("#timeZone"));
        await page.FillAsync("#email", "noscript@example.org");
        await page.ClickAsync("button[type=submit]");

        Assert.Equal("Check your inbox", await page.InnerTextAsync("h1"));
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE email = 'noscript@example.org' AND status = 'pending' AND time_zone IS NULL"));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ARefusedSubscribeFormKeepsWhatWasTypedAndMarksTheField()
    {
        var (page, _) = await OpenAsync(new BrowserNewContextOptions { TimezoneId = "Asia/Tokyo" });
        await page.GotoAsync(_baseUrl + "/");
        await page.ClickAsync("summary");
        await page.FillAsync("#email", "ada@example.org");
        await page.FillAsync("#keywords", "diffusion, \"large language\"");
        await page.FillAsync("#timeZone", "Mars/Olympus_Mons");

        await page.ClickAsync("button[type=submit]");

        Assert.Equal("ada@example.org", await page.InputValueAsync("#email"));
        Assert.Equal("diffusion, \"large language\"", await page.InputValueAsync("#keywords"));
        Assert.Equal("Mars/Olympus_Mons", await page.InputValueAsync("#timeZone")); // kept, not replaced by the guess
        Assert.Equal("true", await page.GetAttributeAsync("#timeZone", "aria-invalid"));
        Assert.Contains("is not a known IANA time zone", await page.InnerTextAsync("#timeZone-error"));
        Assert.Equal("timeZone", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));

        await page.FillAsync("#timeZone", "Asia/Tokyo");
        await page.ClickAsync("button[type=submit]");

        Assert.Equal("Check your inbox", await page.InnerTextAsync("h1"));
        Assert.Equal("diffusion\nlarge language|Asia/Tokyo", await _host.QueryScalarAsync<string>("SELECT keywords || '|' || time_zone FROM subscribers WHERE email = 'ada@example.org'"));
    }

    [Fact]
    public async Task ARefusedPreferencesFormKeepsEveryEditAndSavesNothingUntilAllIsValid()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed", "--topics", "cs.LG");
        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var before = await StoredPreferencesAsync(id);
        var (page, problems) = await OpenAsync();
        await page.GotoAsync(PreferencesLink(id));

        await page.FillAsync("#topics", "cs.CV, cs.CL");
        await page.FillAsync("#keywords", "diffusion");
        await page.SelectOptionAsync("#sendHour", "9");
        await page.UncheckAsync("input[name=weekdays][value=Sun]");
        await page.FillAsync("#timeZone", "Asia/Tokio");
        await page.ClickAsync("button[type=submit]");

        // Everything as typed, the one bad field marked, described and focused; nothing stored.
        Assert.Equal("cs.CV, cs.CL", await page.InputValueAsync("#topics"));
        Assert.Equal("diffusion", await page.InputValueAsync("#keywords"));
        Assert.Equal("9", await page.InputValueAsync("#sendHour"));
        Assert.False(await page.IsCheckedAsync("input[name=weekdays][value=Sun]"));
        Assert.Equal("Asia/Tokio", await page.InputValueAsync("#timeZone"));
        Assert.Equal("true", await page.GetAttributeAsync("#timeZone", "aria-invalid"));
        Assert.Equal("timeZone-error", await page.GetAttributeAsync("#timeZone", "aria-describedby"));
        Assert.Contains("'Asia/Tokio' is not a known IANA time zone", await page.InnerTextAsync("#timeZone-error"));
        Assert.Contains("Time zone: 'Asia/Tokio'", await page.InnerTextAsync(".error[role=alert]"));
        Assert.Null(await page.GetAttributeAsync("#keywords", "aria-invalid"));
        Assert.Equal("timeZone", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        Assert.Equal(before, await StoredPreferencesAsync(id));

        await page.FillAsync("#timeZone", "Asia/Tokyo");
        await page.ClickAsync("button[type=submit]");

        Assert.Contains("Saved.", await page.InnerTextAsync("[role=status]"));
        Assert.Equal("cs.CV,cs.CL|diffusion|Asia/Tokyo|9|126|daily", await StoredPreferencesAsync(id)); // 126: Mon-Sat (Sunday is bit 0)
        // The refused post itself answers 400 (and Chromium logs that); nothing else may fail.
        Assert.DoesNotContain(problems, p => !p.Contains("400", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ThePreferencesPageFitsAPhoneWithTheWeekOnOneRowAndOnlyTheChosenCadencesDay()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var id = await _host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var (page, problems) = await OpenAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });

        await page.GotoAsync(PreferencesLink(id));
        Directory.CreateDirectory(BrowserFlowTests.ArtifactsDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFlowTests.ArtifactsDirectory, "preferences-390px.png"), FullPage = true });

        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390 px");
        var rows = new HashSet<double>();
        foreach (var box in await page.Locator("input[name=weekdays]").AllAsync())
            rows.Add(Math.Round((await box.BoundingBoxAsync())!.Y));
        Assert.Single(rows);
        // Selects and text fields look alike (the same border and corners as the other pages' fields).
        Assert.Equal(await page.EvalOnSelectorAsync<string>("#topics", "e => getComputedStyle(e).borderRadius"),
            await page.EvalOnSelectorAsync<string>("#sendHour", "e => getComputedStyle(e).borderRadius"));
        Assert.Equal("8px", await page.EvalOnSelectorAsync<string>("#sendHour", "e => getComputedStyle(e).borderRadius"));
        var intro = await page.InnerTextAsync("main > p");
        Assert.Equal("Settings for ada@example.org. You're subscribed and get the daily digest.", intro);

        // A daily reader sees the days; a weekly one the day of the week, without a script.
        Assert.True(await page.IsVisibleAsync("input[name=weekdays][value=Mon]"));
        Assert.False(await page.IsVisibleAsync("#weeklyDay"));
        await page.CheckAsync("input[name=cadence][value=weekly]");
        Assert.True(await page.IsVisibleAsync("#weeklyDay"));
        Assert.False(await page.IsVisibleAsync("input[name=weekdays][value=Mon]"));
        await page.SelectOptionAsync("#weeklyDay", "Fri");
        await page.ClickAsync("button[type=submit]");

        Assert.Equal("weekly|5", await _host.QueryScalarAsync<string>("SELECT cadence || '|' || CAST(weekly_day AS TEXT) FROM subscribers WHERE id = " + id));
        Assert.True(await page.IsVisibleAsync("#weeklyDay"));
        Assert.Contains("You're subscribed and get the weekly digest.", await page.InnerTextAsync("main > p"));
        Assert.Empty(await ViolationsAsync(page));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task TheSubscribePageFitsAPhone()
    {
        var (page, problems) = await OpenAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });

        await page.GotoAsync(_baseUrl + "/");
        await page.ClickAsync("summary");

        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390 px");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task EveryPageOfTheFlowLoadsWithoutAFailedRequestFaviconIncluded()
    {
        var (page, problems) = await OpenAsync();

        await page.GotoAsync(_baseUrl + "/");
        await page.FillAsync("#email", "reader@example.org");
        await page.ClickAsync("button[type=submit]");
        await page.GotoAsync((await _smtp.ForMailAsync("reader@example.org")).ConfirmLink());
        await page.ClickAsync("button[type=submit]");
        Assert.Equal("You're subscribed", await page.InnerTextAsync("h1"));
        await page.ClickAsync("text=Choose your preferences");
        Assert.Equal("Preferences", await page.InnerTextAsync("h1"));
        var favicon = await page.GotoAsync(_baseUrl + "/favicon.ico");

        Assert.Equal(200, favicon!.Status);
        Assert.Equal("image/svg+xml", favicon.Headers["content-type"]);
        Assert.Empty(problems);
    }
}
