using Microsoft.Playwright;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>
/// The whole flow as a person does it, in Debian's headless Chromium driven by Playwright
/// (never a downloaded browser): subscribe, confirm from the mail, get a digest, unsubscribe.
/// </summary>
public sealed class BrowserFlowTests
{
    public static readonly string ArtifactsDirectory = Path.Combine(AppContext.BaseDirectory, "artifacts");

    public static async Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright)
    {
        SystemPrograms.RequireChromium();
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = SystemPrograms.Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    [Fact]
    public async Task AVisitorSubscribesConfirmsReceivesADigestAndUnsubscribes()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost();
        host.UseSmtp(smtp.Port);
        // The day's papers appear only after the visitor has subscribed (readers get papers collected after they joined).
        var papers = Path.Combine(host.Directory, "papers.json");
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(papers).AbsoluteUri));
        var baseUrl = await host.StartServiceAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync();

        // Subscribe.
        await page.GotoAsync(baseUrl + "/");
        Assert.Equal("Get trending papers in your email inbox!", await page.InnerTextAsync("h1"));
        Directory.CreateDirectory(ArtifactsDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDirectory, "subscribe-page.png"), FullPage = true });
        await page.FillAsync("#email", "reader@example.org");
        await page.ClickAsync("button[type=submit]");
        Assert.Equal("Check your inbox", await page.InnerTextAsync("h1"));
        Assert.Equal("pending", await host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader@example.org'"));

        // Confirm from the mail: opening the link changes nothing, the button does.
        var confirmation = await smtp.ForMailAsync("reader@example.org");
        await page.GotoAsync(confirmation.ConfirmLink());
        Assert.Equal("Confirm your subscription", await page.InnerTextAsync("h1"));
        Assert.Equal("pending", await host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader@example.org'"));
        await page.ClickAsync("button[type=submit]");
        Assert.Equal("You're subscribed", await page.InnerTextAsync("h1"));
        Assert.Equal("active", await host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader@example.org'"));

        // A digest arrives, with the papers published after the reader joined.
        File.Copy(Fixtures.PathOf("hf_daily_papers.json"), papers);
        await host.RunAsync("collect");
        Assert.Contains("Delivered: 1 sent", (await host.RunAsync("send-now", "--date", "2025-09-08")).Output);
        var digest = await smtp.ForMailAsync("reader@example.org", count: 2);
        Assert.Contains("Why Language Models Hallucinate", digest.HtmlBody);

        // Unsubscribe from the footer link: a page with a button, then the button.
        var unsubscribe = System.Text.RegularExpressions.Regex.Match(digest.TextBody!, @"https?://\S+/unsubscribe\?token=\S+").Value;
        await page.GotoAsync(unsubscribe);
        Assert.Equal("Unsubscribe", await page.InnerTextAsync("h1"));
        Assert.Equal("active", await host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader@example.org'"));
        await page.ClickAsync("button[type=submit]");
        Assert.Equal("You're unsubscribed", await page.InnerTextAsync("h1"));
        Assert.Equal("unsubscribed", await host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader@example.org'"));
    }

    [Fact]
    public async Task AnInvalidAddressIsExplainedOnThePage()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost();
        host.UseSmtp(smtp.Port);
        var baseUrl = await host.StartServiceAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(baseUrl + "/");

        // The browser's own type=email check would stop this; a visitor without it still gets an answer.
        await page.EvalOnSelectorAsync("#email", "e => e.type = 'text'");
        await page.FillAsync("#email", "ada@@example.org");
        await page.ClickAsync("button[type=submit]");

        Assert.Equal("Enter a single bare address, such as name@example.org.", await page.InnerTextAsync(".error"));
        Assert.Equal("ada@@example.org", await page.InputValueAsync("#email"));
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
    }
}
