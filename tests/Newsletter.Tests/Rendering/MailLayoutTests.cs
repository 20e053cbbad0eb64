using System.Net;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>
/// The layout promises of the shipped mails, as sent (CSS inlined), in the forms that survive
/// the mail clients that drop the rest: the backdrop on a full-width table (not on &lt;body&gt;, which
/// Gmail and Outlook replace), a fixed-width centred sheet (not max-width / margin:auto), a button
/// drawn by its table cell (not a padded link, which Outlook for Windows shows bare), a preheader
/// hidden by every means some client honours, and links a new reader needs.
/// </summary>
public sealed class MailLayoutTests : IAsyncLifetime
{
    private const string Backdrop = "#f6f6f4";
    private static readonly DigestRecipient Reader = new("reader@example.org",
        "https://papers.example.org/unsubscribe?token=UNSUB", "https://papers.example.org/preferences?token=PREFS");

    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public void DigestPutsItsBackdropOnAFullWidthTableAndCentresA600PixelSheet()
    {
        var html = Parse(_host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader).Html);

        AssertFrame(html);
        Assert.Equal("5 new papers: Why Language Models Hallucinate", Preheader(html).TextContent);
    }

    [Fact]
    public async Task ConfirmationMailHasTheSameFrameAPreheaderAndATableCellButton()
    {
        var html = Parse((await ConfirmationMailAsync()).HtmlBody!);

        AssertFrame(html);
        Assert.Contains("Daily Papers", Preheader(html).TextContent);
        var button = Assert.Single(html.QuerySelectorAll("a[href*='/confirm?token=']"));
        var cell = button.ParentElement!;
        Assert.Equal("td", cell.LocalName);
        Assert.Equal("#0b57d0", cell.GetAttribute("bgcolor"));
        Assert.Equal("#0b57d0", Styles(cell)["background-color"]);
        Assert.StartsWith("12px", Styles(cell)["padding"]);
        Assert.DoesNotContain("display", Styles(button).Keys);
        Assert.DoesNotContain("padding", Styles(button).Keys);
        Assert.Equal("#ffffff", Styles(button)["color"]);
    }

    [Fact]
    public async Task ConfirmationMailLinksToTheReadersPreferencesInBothParts()
    {
        var baseUrl = await _host.StartServiceAsync();
        var mail = await ConfirmationMailAsync();

        var htmlLink = Assert.Single(Parse(mail.HtmlBody!).QuerySelectorAll("a[href*='/preferences?token=']")).GetAttribute("href")!;
        var textLink = System.Text.RegularExpressions.Regex.Match(mail.TextBody!, @"https?://\S+/preferences\?token=\S+").Value;
        using var browser = new FormClient(baseUrl);
        var (page, body) = await browser.GetAsync(htmlLink);

        Assert.Equal(htmlLink, textLink);
        Assert.StartsWith(baseUrl + "/preferences?token=", htmlLink);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("reader@example.org", body);
    }

    [Fact]
    public void ADigestWithNoPapersSaysSoInsteadOfCountingZero()
    {
        var digest = _host.Service<DigestRenderer>().Render(new Issue(0, new DateOnly(2025, 9, 8), []), Reader);
        var html = Parse(digest.Html);

        Assert.Equal("Daily Papers: no new papers for Monday, 8 September 2025", digest.Subject);
        Assert.Equal("No new papers today", Preheader(html).TextContent);
        Assert.Contains("Nothing new today.", html.Body!.TextContent);
        Assert.Contains("No new papers today.", digest.Text);
        foreach (var part in new[] { digest.Subject, digest.Html, digest.Text })
            Assert.DoesNotContain("0 new paper", part);
        Assert.Contains(Reader.UnsubscribeUrl, digest.Text);
    }

    [Fact]
    public void PlainTextEntriesStayBlocksUnderTheirNumbersWhenTheyWrap()
    {
        var title = "Scaling laws for sparse mixture of experts language models trained on synthetic data, revisited";
        var authors = Enumerable.Range(1, 12).Select(i => $"Author Number{i}").ToList();
        var issue = new Issue(0, new DateOnly(2025, 9, 8),
        [
            new IssueEntry(1, title, string.Join(' ', Enumerable.Repeat("An abstract that runs over several lines.", 6)), authors,
                "https://arxiv.org/abs/2509.04664", 26, null, "sample", "matches \u201csparse mixture\u201d, \u201csynthetic data\u201d, \u201cscaling laws\u201d, in cs.LG, cs.CL \u00b7 26 upvotes"),
            new IssueEntry(2, "The next paper", "Short.", [], "https://arxiv.org/abs/2509.04665", 3, null, "sample"),
        ]);

        var lines = _host.Service<DigestRenderer>().Render(issue, Reader).Text.Split('\n');

        var first = Array.FindIndex(lines, line => line.StartsWith("1. Scaling", StringComparison.Ordinal));
        var next = Array.FindIndex(lines, line => line.StartsWith("2. The next paper", StringComparison.Ordinal));
        Assert.True(first >= 0 && next > first + 6, string.Join('\n', lines));
        Assert.All(lines[(first + 1)..next].Where(line => line != ""), line => Assert.Matches("^   [^ ]", line));
        Assert.All(lines, line => Assert.True(line.Length <= 76, $"'{line}' is longer than 76"));
        Assert.Contains("revisited", string.Join(' ', lines[first..(first + 2)]));
    }

    private async Task<MimeKit.MimeMessage> ConfirmationMailAsync()
    {
        _host.UseSmtp(_smtp.Port);
        // Adding an address without --confirmed sends it the confirmation mail at once.
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "reader@example.org")).Exit);
        return await _smtp.ForMailAsync("reader@example.org");
    }

    /// <summary>Backdrop on a full-width table, not on the body; a 600px sheet inside it, without max-width or auto margins.</summary>
    private static void AssertFrame(IHtmlDocument html)
    {
        var body = html.Body!;
        Assert.DoesNotContain(Styles(body).Keys, key => key.StartsWith("background", StringComparison.Ordinal));
        var outer = Assert.Single(body.Children.OfType<IHtmlTableElement>());
        Assert.Equal("100%", outer.GetAttribute("width"));
        Assert.Equal(Backdrop, outer.GetAttribute("bgcolor"));
        Assert.Equal(Backdrop, Styles(outer)["background-color"]);
        var sheet = outer.QuerySelector("table")!;
        Assert.Equal("600", sheet.GetAttribute("width"));
        Assert.Equal("center", sheet.ParentElement!.GetAttribute("align"));
        Assert.DoesNotContain("max-width", Styles(sheet).Keys);
        Assert.DoesNotContain("margin", Styles(sheet).Keys);
        Assert.DoesNotContain(html.QuerySelectorAll("[style]"), element => !element.ClassList.Contains("preheader") && Styles(element).ContainsKey("max-width"));
    }

    /// <summary>The first thing in the body, hidden by display, size, overflow, Outlook's mso-hide, opacity and a colour matching the backdrop.</summary>
    private static IElement Preheader(IHtmlDocument html)
    {
        var preheader = html.Body!.FirstElementChild!;
        Assert.True(preheader.ClassList.Contains("preheader"), preheader.OuterHtml);
        var styles = Styles(preheader);
        Assert.Equal("none", styles["display"]);
        Assert.Equal("0", styles["max-height"]);
        Assert.Equal("hidden", styles["overflow"]);
        Assert.Equal("all", styles["mso-hide"]);
        Assert.Equal("0", styles["font-size"]);
        Assert.Equal("0", styles["line-height"]);
        Assert.Equal("0", styles["opacity"]);
        Assert.Equal(Backdrop, styles["color"]);
        return preheader;
    }

    private static IHtmlDocument Parse(string html) => new HtmlParser().ParseDocument(html);

    private static Dictionary<string, string> Styles(IElement element) =>
        (element.GetAttribute("style") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(declaration => declaration.Split(':', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0].ToLowerInvariant(), pair => pair[1], StringComparer.Ordinal);
}
