using MimeKit;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

public sealed class RenderingTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static readonly DigestRecipient Reader = new("reader@example.org", "https://papers.example.org/unsubscribe?token=a.b", "https://papers.example.org/preferences?token=c.d");

    [Fact]
    public void UpvotesShowInBothPartsEvenWithoutAuthors()
    {
        var digest = _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader);

        Assert.Matches(@"class=""byline""[^>]*>(?:&#9650;|\u25B2) 12</p>", digest.Html);
        Assert.Matches(@"class=""byline""[^>]*>Adam Tauman Kalai, Ofir Nachum &middot; (?:&#9650;|\u25B2) 26</p>", digest.Html.Replace("\u00B7", "&middot;"));
        Assert.Contains("   12 upvotes", digest.Text);
    }

    [Fact]
    public void PapersPastTheFullListAppearAsTitleAndLinkUnderMorePapers()
    {
        var digest = _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader);

        Assert.Contains("More papers (2)", digest.Html);
        Assert.Contains("href=\"https://arxiv.org/abs/2509.05001\"", digest.Html);
        Assert.Contains("A compactly listed paper", digest.Html);
        Assert.DoesNotContain("Only its title and link are shown.", digest.Html);
        Assert.Contains("&lt;script&gt;alert(4)&lt;/script&gt; in the more-papers list", digest.Html);
        Assert.Contains("More papers (2):\n4. A compactly listed paper (3 upvotes)\n   https://arxiv.org/abs/2509.05001", digest.Text.Replace("\r\n", "\n"));
        Assert.Equal("Daily Papers: 5 new papers for Monday, 8 September 2025", digest.Subject);
    }

    [Fact]
    public void FeedTextCannotInjectMarkupIntoTheShippedTemplates()
    {
        var digest = _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader);

        Assert.DoesNotContain("<script", digest.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", digest.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("javascript:", digest.Html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", digest.Html);
        Assert.Contains("Summary with &lt;b&gt;markup&lt;/b&gt; &amp; entities", digest.Html);
        Assert.Contains("{{ 7 * 7 }}", digest.Text); // template syntax in data stays data
        Assert.DoesNotContain("49", digest.Text);
    }

    [Fact]
    public void ATemplateThatEscapesByHandIsNotEscapedTwice()
    {
        var html = RenderHtml("<p>{{ issue.entries[1].summary | html.escape }}</p><p>{{ issue.entries[1].summary }}</p>");

        Assert.Equal("<p>Summary with &lt;b&gt;markup&lt;/b&gt; &amp; entities</p><p>Summary with &lt;b&gt;markup&lt;/b&gt; &amp; entities</p>", html.Trim());
    }

    [Fact]
    public void RawMarksAValueAsTrusted()
    {
        var html = RenderHtml("{{ raw \"<hr>\" }}{{ \"<hr>\" }}");

        Assert.Equal("<hr>&lt;hr&gt;", html.Trim());
    }

    [Fact]
    public void SubjectHasNoLineBreaksAndTheMessageHasNoInjectedHeaders()
    {
        File.WriteAllText(Path.Combine(_host.CopyTemplates(), "digest.subject.sbn"), "{{ issue.entries[1].title }}");
        var renderer = _host.Service<DigestRenderer>();
        var digest = renderer.Render(TemplateChecker.SampleIssue(), Reader);
        var message = _host.Service<DigestMessageBuilder>().Build(digest, "reader@example.org", "<x@y>", Reader.UnsubscribeUrl, DateTimeOffset.UnixEpoch);

        Assert.DoesNotContain('\r', digest.Subject);
        Assert.DoesNotContain('\n', digest.Subject);
        var reloaded = message.Reloaded();
        Assert.Empty(reloaded.Bcc);
        Assert.Equal(digest.Subject, reloaded.Subject);
    }

    [Fact]
    public void LongLinesAreWrappedSoBodiesStayWithinSmtpLimits()
    {
        var longSummary = string.Join(' ', Enumerable.Repeat("word", 600));
        var issue = new Issue(1, new DateOnly(2025, 9, 8), [new IssueEntry(1, "T", longSummary, [], "https://example.org", 0, null, "s")]);

        var digest = _host.Service<DigestRenderer>().Render(issue, Reader);

        Assert.All(digest.Html.Split('\n'), line => Assert.True(line.Length <= 998));
        Assert.All(digest.Text.Split('\n'), line => Assert.True(line.Length <= 998));
    }

    private string RenderHtml(string template)
    {
        File.WriteAllText(Path.Combine(_host.CopyTemplates(), "digest.html.sbn"), template);
        return _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader).Html;
    }

}
