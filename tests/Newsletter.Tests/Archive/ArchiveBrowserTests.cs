using Microsoft.Playwright;
using Newsletter.Tests.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Archive;

/// <summary>
/// The archive as a reader opens it from a "view in browser" link, in Debian's headless Chromium on a
/// phone, under the service's own Content-Security-Policy: no failed request, no policy violation, no
/// sideways scrolling, and a screenshot kept as a test artefact (<c>artifacts/archive-*-390px.png</c>).
/// </summary>
public sealed class ArchiveBrowserTests : IAsyncLifetime
{
    private FixtureServer _feeds = null!;
    private readonly TestHost _host = new();
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async ValueTask InitializeAsync()
    {
        SystemPrograms.RequireChromium();
        _feeds = await FixtureServer.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await BrowserFlowTests.LaunchChromiumAsync(_playwright);
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
        await _host.DisposeAsync();
        if (_feeds is not null)
            await _feeds.DisposeAsync();
    }

    [Fact]
    public async Task TheArchiveAndAnIssueReadWellOnAPhoneWithNothingBlocked()
    {
        await ArchiveData.SendAnIssueAsync(_host, _feeds);
        // Links in the mail point at the public address; the browser opens the same paths here.
        var baseUrl = await _host.StartServiceAsync(publicBaseUrl: "https://papers.example.org");
        var date = await _host.QueryScalarAsync<string>("SELECT issue_date FROM issues");
        var link = ArchiveData.OutboxMail(_host).Single().TextBody!.Split('\n').Single(l => l.StartsWith("View in browser: ", StringComparison.Ordinal))["View in browser: ".Length..].Trim();
        Assert.EndsWith($"/archive/{date}", link);

        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) => { if (message.Type is "error" or "warning") lock (problems) problems.Add($"console {message.Type}: {message.Text}"); };
        page.Response += (_, response) => { if (response.Status >= 400) lock (problems) problems.Add($"{response.Status} {response.Url}"); };
        page.RequestFailed += (_, request) => { lock (problems) problems.Add($"failed {request.Url}: {request.Failure}"); };
        await page.AddInitScriptAsync("document.addEventListener('securitypolicyviolation', e => (window.__violations = window.__violations || []).push(e.violatedDirective + ' ' + e.blockedURI))");

        await page.GotoAsync(baseUrl + new Uri(link).AbsolutePath);
        Directory.CreateDirectory(BrowserFlowTests.ArtifactsDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFlowTests.ArtifactsDirectory, "archive-issue-390px.png"), FullPage = true });

        Assert.Equal(new DateOnly(int.Parse(date[..4]), int.Parse(date[5..7]), int.Parse(date[8..])).ToString("dddd, d MMMM yyyy", System.Globalization.CultureInfo.InvariantCulture), await page.InnerTextAsync("h1"));
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the issue page scrolls sideways at 390 px");
        var titles = await page.Locator("article.paper h2").AllInnerTextsAsync();
        Assert.Contains(titles, t => t.Contains("Why Language Models Hallucinate", StringComparison.Ordinal));
        // The hostile title is shown as the text it is: no element was made of it.
        Assert.Contains(titles, t => t.Contains("<script>alert(1)</script> Hostile", StringComparison.Ordinal));
        Assert.Equal(0, await page.Locator("main script").CountAsync());
        // The feed links are discoverable by feed readers from the page itself.
        Assert.Equal("https://papers.example.org/feed.xml", await page.GetAttributeAsync("link[rel=alternate][type='application/atom+xml']", "href"));

        await page.ClickAsync("text=All issues");
        Assert.Equal("Archive", await page.InnerTextAsync("h1"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFlowTests.ArtifactsDirectory, "archive-index-390px.png"), FullPage = true });
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the index scrolls sideways at 390 px");
        Assert.Equal(1, await page.Locator($"a[href='/archive/{date}']").CountAsync());

        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__violations || []"));
        Assert.Empty(problems);
    }
}
