using Microsoft.Playwright;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>A reader edits the preferences page in headless Chromium, and the next digest follows it.</summary>
public sealed class PreferencesBrowserTests
{
    [Fact]
    public async Task PreferencesEditedInTheBrowserChangeTheNextDigest()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost();
        host.UseSmtp(smtp.Port);
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
        var baseUrl = await host.StartServiceAsync();
        var id = await host.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var link = host.Service<MailLinks>().Preferences(id);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await BrowserFlowTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync();

        await page.GotoAsync(link.Replace("https://papers.example.org", baseUrl, StringComparison.Ordinal));
        Assert.Equal("Preferences", await page.InnerTextAsync("h1"));
        await page.FillAsync("#keywords", "hallucinate, \"large language\"");
        await page.FillAsync("#exclude", "survey");
        await page.FillAsync("#timeZone", "Asia/Tokyo");
        await page.SelectOptionAsync("#sendHour", "8");
        await page.UncheckAsync("input[name=weekdays][value=Sun]");
        await page.ClickAsync("button[type=submit]");

        Assert.Contains("Saved.", await page.InnerTextAsync("[role=status]"));
        Assert.Equal("hallucinate\nlarge language", await host.QueryScalarAsync<string>("SELECT keywords FROM subscribers WHERE id = " + id));
        Assert.Equal("Asia/Tokyo", await host.QueryScalarAsync<string>("SELECT time_zone FROM subscribers WHERE id = " + id));
        Assert.Equal(8L, await host.QueryScalarAsync<long>("SELECT send_hour FROM subscribers WHERE id = " + id));
        Assert.Equal("hallucinate, \"large language\"", await page.InputValueAsync("#keywords"));
        Assert.False(await page.IsCheckedAsync("input[name=weekdays][value=Sun]"));
        Assert.True(await page.IsCheckedAsync("input[name=weekdays][value=Mon]"));

        // A bad zone is explained and nothing is saved.
        await page.FillAsync("#timeZone", "Mars/Olympus_Mons");
        await page.ClickAsync("button[type=submit]");
        Assert.Contains("Time zone: 'Mars/Olympus_Mons' is not a known IANA time zone", await page.InnerTextAsync(".error"));
        Assert.Equal("Asia/Tokyo", await host.QueryScalarAsync<string>("SELECT time_zone FROM subscribers WHERE id = " + id));

        await host.RunAsync("collect");
        Assert.Equal(0, (await host.RunAsync("send-now", "--date", "2025-09-08")).Exit);

        var digest = Assert.Single(smtp.To("ada@example.org"));
        Assert.Contains("Why Language Models Hallucinate", digest.TextBody);
        Assert.Contains("matches \u201challucinate\u201d", digest.TextBody);
        Assert.DoesNotContain("A Composed Example Paper With Code", digest.TextBody);
        Assert.Equal("Daily Papers: 1 new paper for Monday, 8 September 2025", digest.Subject);
        var other = Assert.Single(smtp.To("grace@example.org"));
        Assert.Contains("A Composed Example Paper With Code", other.TextBody);
    }
}
