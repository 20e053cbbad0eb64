using MimeKit;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Tests.Support;
using Scriban.Syntax;

namespace Newsletter.Tests.Rendering;

/// <summary>Limits, hostile input through an operator's template, and hot reload.</summary>
public sealed class TemplateSafetyTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private string _templates = "";
    private static readonly DigestRecipient Reader = new("reader@example.org", "https://papers.example.org/unsubscribe?token=a.b", "https://papers.example.org/preferences?token=c.d");

    public ValueTask InitializeAsync()
    {
        _templates = _host.CopyTemplates();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("{{ while true }}x{{ end }}", "loop")]
    [InlineData("{{ func f; f; end; f }}", "recursi")]
    [InlineData("{{ \"x\" | string.pad_left 2000000 }}", "string")]
    public void ATemplateThatHitsALimitFailsTheRender(string body, string reason)
    {
        File.WriteAllText(Path.Combine(_templates, "digest.txt.sbn"), body + " {{ unsubscribe_url }}");

        var failure = Assert.ThrowsAny<ScriptRuntimeException>(() => _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader));

        Assert.Contains(reason, failure.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ARenderThatRunsTooLongIsStopped()
    {
        // Within every other limit, but slow: ~10,000 large string operations.
        _host.Set("Newsletter:RenderTimeout", "00:00:00.020");
        File.WriteAllText(Path.Combine(_templates, "digest.txt.sbn"), "{{ for i in 1..9999 }}{{ s = \"x\" | string.pad_left 50000 }}{{ end }}{{ unsubscribe_url }}");
        var renderer = _host.Service<DigestRenderer>();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var failure = Assert.ThrowsAny<ScriptRuntimeException>(() => renderer.Render(TemplateChecker.SampleIssue(), Reader));
        Assert.Contains("cancelled", failure.Message);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"stopped after {clock.Elapsed}");
    }

    [Fact]
    public async Task ADigestThatCannotBeRenderedIsNeverSent()
    {
        await using var smtp = new SmtpSink();
        _host.UseSmtp(smtp.Port);
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.RunAsync("collect");
        File.WriteAllText(Path.Combine(_templates, "digest.html.sbn"), "<p>{{ unsubscribe_url }}</p>{{ while true }}x{{ end }}");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(1, result.Exit);
        Assert.Contains("cannot be rendered", result.Error);
        Assert.Empty(smtp.Messages);
        Assert.Equal("pending", await _host.QueryScalarAsync<string>("SELECT status FROM deliveries"));
    }

    [Fact]
    public void HostileEntriesThroughAForgetfulOperatorTemplateInjectNothing()
    {
        // An operator template that uses no html.escape at all, in text and in attributes.
        File.WriteAllText(Path.Combine(_templates, "digest.html.sbn"),
            "{{ for e in issue.entries }}<a href=\"{{ e.url }}\" title=\"{{ e.title }}\">{{ e.title }}</a><p>{{ e.summary }}</p><i>{{ e.authors_text }}</i>{{ end }}{{ unsubscribe_url }}");
        File.WriteAllText(Path.Combine(_templates, "digest.subject.sbn"), "{{ issue.entries[1].title }}");
        var renderer = _host.Service<DigestRenderer>();

        var digest = renderer.Render(TemplateChecker.SampleIssue(), Reader);
        var message = _host.Service<Newsletter.Delivery.DigestMessageBuilder>().Build(digest, Reader.Email, "<x@example.org>", Reader.UnsubscribeUrl, DateTimeOffset.UnixEpoch);

        Assert.DoesNotContain("<script", digest.Html);
        Assert.DoesNotContain("<img", digest.Html);
        Assert.DoesNotContain("\"><", digest.Html);
        Assert.Contains("href=\"\"", digest.Html); // the javascript: link became no link
        Assert.DoesNotContain('\n', digest.Subject);
        var reloaded = message.Reloaded();
        Assert.Empty(reloaded.Bcc);
        Assert.Equal(message.Headers.Count, reloaded.Headers.Count);
    }

    [Fact]
    public void PartialsAreIncludedAndStayEscaped()
    {
        Directory.CreateDirectory(Path.Combine(_templates, "partials"));
        File.WriteAllText(Path.Combine(_templates, "partials", "entry.html.sbn"), "<li>{{ e.title }}</li>");
        File.WriteAllText(Path.Combine(_templates, "digest.html.sbn"),
            "<ul>{{ for e in issue.entries }}{{ raw (include 'partials/entry.html.sbn') }}{{ end }}</ul>{{ unsubscribe_url }}");
        var html = _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader).Html;

        Assert.Contains("<li>Why Language Models Hallucinate</li>", html);
        Assert.Contains("<li>&lt;script&gt;alert(1)&lt;/script&gt;", html);
    }

    [Fact]
    public void IncludesCannotReachOutsideTheTemplatesFolder()
    {
        File.WriteAllText(Path.Combine(_templates, "digest.html.sbn"), "{{ raw (include '../../../etc/passwd') }}{{ unsubscribe_url }}");
        var outside = Assert.ThrowsAny<ScriptRuntimeException>(() => _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(), Reader));
        Assert.Contains("outside the templates folder", outside.Message);
    }

    [Fact]
    public void StyleBlocksAreInlinedAndPersonalValuesStayPersonal()
    {
        var renderer = _host.Service<DigestRenderer>();
        var other = new DigestRecipient("other@example.org", "https://papers.example.org/unsubscribe?token=z.y", "https://papers.example.org/preferences?token=x.w");

        var first = renderer.Render(TemplateChecker.SampleIssue(), Reader);
        var second = renderer.Render(TemplateChecker.SampleIssue(), other);

        Assert.Contains("<h2 style=\"", first.Html);
        Assert.Contains("reader@example.org", first.Html);
        Assert.Contains("token=a.b", first.Html);
        Assert.DoesNotContain("other@example.org", first.Html);
        Assert.Contains("other@example.org", second.Html);
        Assert.Contains("token=z.y", second.Html);
        Assert.DoesNotContain("token=a.b", second.Html);
        Assert.Equal(first.Html.Replace("reader@example.org", "X").Replace("a.b", "T").Replace("c.d", "P"),
                     second.Html.Replace("other@example.org", "X").Replace("z.y", "T").Replace("x.w", "P"));
    }

    [Fact]
    public async Task ABrokenEditKeepsTheLastGoodVersionAndAFixIsPickedUpWithoutRestart()
    {
        var renderer = _host.Service<DigestRenderer>();
        var store = _host.Service<TemplateStore>();
        var health = _host.Service<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var subject = Path.Combine(_templates, "digest.subject.sbn");

        File.WriteAllText(subject, "Broken {{ if }");
        await WaitUntilAsync(() => store.Errors.Count > 0);
        var degraded = await health.CheckHealthAsync();

        Assert.StartsWith("Daily Papers: 5 new papers", renderer.Render(TemplateChecker.SampleIssue(), Reader).Subject);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, degraded.Entries["templates"].Status);
        Assert.Matches(@"digest\.subject\.sbn:1:\d+: ", degraded.Entries["templates"].Description);

        File.WriteAllText(subject, "Fixed: {{ issue.entry_count }} papers");
        await WaitUntilAsync(() => store.Errors.Count == 0);

        Assert.Equal("Fixed: 3 papers", renderer.Render(TemplateChecker.SampleIssue(), Reader).Subject);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["templates"].Status);
    }

    [Fact]
    public async Task DeletingABrokenTemplateFileClearsItsError()
    {
        var store = _host.Service<TemplateStore>();
        var health = _host.Service<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var extra = Path.Combine(_templates, "partials-extra.sbn");

        File.WriteAllText(extra, "Broken {{ if }");
        await WaitUntilAsync(() => store.Errors.Count > 0);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, (await health.CheckHealthAsync()).Entries["templates"].Status);

        File.Delete(extra);
        await WaitUntilAsync(() => store.Errors.Count == 0);

        Assert.Empty(store.Errors);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["templates"].Status);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(condition(), "the template change was not picked up within 10 s");
    }
}
