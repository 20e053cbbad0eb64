using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>An issue is rendered once and spliced per reader: the result must equal a full render.</summary>
public sealed class SplicedRenderingTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static DigestRecipient Reader(string email, string token) =>
        new(email, $"https://papers.example.org/unsubscribe?token={token}.sig", $"https://papers.example.org/preferences?token={token}.pref");

    [Theory]
    [InlineData("ada@example.org", "MS4xLjA")]
    [InlineData("grace.hopper+papers@example.org", "MS4yLjA")]
    [InlineData("o'neil&co@example.org", "MS4zLjA")]   // escaping would change it: rendered in full
    [InlineData("\"quoted local\"@example.org", "MS40LjA")]
    public void EveryReaderGetsExactlyWhatAFullRenderWouldGive(string email, string token)
    {
        var renderer = _host.Service<DigestRenderer>();
        var issue = TemplateChecker.SampleIssue();
        renderer.Render(issue, Reader("first@example.org", "MC4wLjA")); // prepares the issue

        var spliced = renderer.Render(issue, Reader(email, token));

        Assert.Equal(renderer.RenderFully(issue, Reader(email, token)), spliced);
        Assert.Contains($"token={token}.sig", spliced.Html);
    }

    [Fact]
    public void ATemplateThatTransformsAPersonalValueIsRenderedInFull()
    {
        File.WriteAllText(Path.Combine(_host.CopyTemplates(), "digest.html.sbn"),
            "<a href=\"https://example.org/feedback?from={{ subscriber.email | html.url_encode }}\">x</a>{{ unsubscribe_url }}");
        var renderer = _host.Service<DigestRenderer>();
        var issue = TemplateChecker.SampleIssue();

        var first = renderer.Render(issue, Reader("ada@example.org", "MS4xLjA"));
        var second = renderer.Render(issue, Reader("grace@example.org", "MS4yLjA"));

        Assert.Contains("from=ada%40example.org", first.Html);
        Assert.Contains("from=grace%40example.org", second.Html);
    }

    [Fact]
    public async Task AReloadedTemplateIsUsedForAnIssueAlreadyPrepared()
    {
        var templates = _host.CopyTemplates();
        var renderer = _host.Service<DigestRenderer>();
        var store = _host.Service<TemplateStore>();
        var issue = TemplateChecker.SampleIssue();
        renderer.Render(issue, Reader("ada@example.org", "MS4xLjA"));
        var before = store.Errors.Count;

        File.WriteAllText(Path.Combine(templates, "digest.subject.sbn"), "Reloaded for {{ subscriber.email }}");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!renderer.Render(issue, Reader("ada@example.org", "MS4xLjA")).Subject.StartsWith("Reloaded") && DateTime.UtcNow < deadline)
            await Task.Delay(50);

        Assert.Equal(0, before);
        Assert.Equal("Reloaded for grace@example.org", renderer.Render(issue, Reader("grace@example.org", "MS4yLjA")).Subject);
    }
}
