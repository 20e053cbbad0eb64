using MimeKit;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

public sealed class PreviewAndTemplateCommandTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task PreviewWritesWhatTheSubscriberWouldGetWithoutSending()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var outDir = Path.Combine(_host.Directory, "preview");

        var result = await _host.RunAsync("preview", "--email", "ada@example.org", "--out", outDir);

        Assert.Equal(0, result.Exit);
        Assert.Contains("Why Language Models Hallucinate", await File.ReadAllTextAsync(Path.Combine(outDir, "digest.html")));
        Assert.Contains("ada@example.org", await File.ReadAllTextAsync(Path.Combine(outDir, "digest.txt")));
        Assert.StartsWith("Daily Papers: 2 new papers", await File.ReadAllTextAsync(Path.Combine(outDir, "subject.txt")));
        Assert.Equal("List-Unsubscribe=One-Click", (await MimeMessage.LoadAsync(Path.Combine(outDir, "digest.eml"))).Headers["List-Unsubscribe-Post"]);
        Assert.False(Directory.Exists(_host.Outbox));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries"));
    }

    [Fact]
    public async Task PreviewAfterTheLastIssueWithNothingNewShowsTheLastIssue()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        // A reader from before the papers were collected (a new one starts with papers collected after joining).
        await _host.ExecuteAsync("UPDATE subscribers SET served_until = 0");
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        var outDir = Path.Combine(_host.Directory, "again");

        var result = await _host.RunAsync("preview", "--out", outDir);

        Assert.Equal(0, result.Exit);
        Assert.Contains("Issue 2025-09-08 (2 entries)", result.Output);
        Assert.Contains("showing the latest issue, of 2025-09-08", result.Output);
    }

    [Fact]
    public async Task PreviewWithoutADateShowsTodaysIssueEvenWhenALaterDateWasComposed()
    {
        _host.Set("Newsletter:Schedule:TimeZone", "UTC");
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(0, (await _host.RunAsync("send-now", "--date", today.ToString("yyyy-MM-dd"))).Exit);
        await _host.Service<Newsletter.Sources.EntryStore>().UpsertAsync(
            [new("arxiv:2611.00001", "Tomorrow's paper", "s", [], "https://arxiv.org/abs/2611.00001", null, 0, "t")], CancellationToken.None);
        Assert.Equal(0, (await _host.RunAsync("send-now", "--date", today.AddDays(1).ToString("yyyy-MM-dd"))).Exit);

        var result = await _host.RunAsync("preview", "--out", Path.Combine(_host.Directory, "today"));

        Assert.Equal(0, result.Exit);
        Assert.DoesNotContain("not composed yet", result.Output);
        Assert.Contains($"Issue {today:yyyy-MM-dd} (2 entries)", result.Output);
    }

    [Fact]
    public async Task PreviewWithADateShowsThatIssueOrWhatItWouldHold()
    {
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        var composedDir = Path.Combine(_host.Directory, "composed");
        var emptyDir = Path.Combine(_host.Directory, "empty");

        var composed = await _host.RunAsync("preview", "--date", "2025-09-08", "--out", composedDir);
        var nextDay = await _host.RunAsync("preview", "--date", "2025-09-09", "--out", emptyDir);
        var invalid = await _host.RunAsync("preview", "--date", "9 Sept");

        Assert.Equal(0, composed.Exit);
        Assert.Contains("Issue 2025-09-08 (2 entries)", composed.Output);
        Assert.Contains("Monday, 8 September 2025", await File.ReadAllTextAsync(Path.Combine(composedDir, "subject.txt")));
        Assert.Equal(0, nextDay.Exit);
        Assert.Contains("Issue 2025-09-09 is not composed and no paper is waiting", nextDay.Output);
        Assert.Contains("Issue 2025-09-09 (0 entries)", nextDay.Output);
        Assert.Contains("Tuesday, 9 September 2025", await File.ReadAllTextAsync(Path.Combine(emptyDir, "subject.txt")));
        Assert.DoesNotContain("Why Language Models Hallucinate", await File.ReadAllTextAsync(Path.Combine(emptyDir, "digest.txt")));
        Assert.Equal(2, invalid.Exit);
        Assert.Contains("--date must be YYYY-MM-DD", invalid.Error);
    }

    [Fact]
    public async Task PreviewWithADateNotYetComposedShowsTheWaitingPapersUnderThatDate()
    {
        var outDir = Path.Combine(_host.Directory, "draft");

        var result = await _host.RunAsync("preview", "--date", "2025-09-10", "--out", outDir);

        Assert.Equal(0, result.Exit);
        Assert.Contains("Issue 2025-09-10 is not composed yet", result.Output);
        Assert.StartsWith("Daily Papers: 2 new papers for Wednesday, 10 September 2025", await File.ReadAllTextAsync(Path.Combine(outDir, "subject.txt")));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM issues"));
    }

    [Fact]
    public async Task SendTestSendsOneMessageOutsideTheLedger()
    {
        await using var smtp = new SmtpSink();
        _host.UseSmtp(smtp.Port);

        var result = await _host.RunAsync("send-test", "--to", "someone@example.org");

        Assert.Equal(0, result.Exit);
        var message = Assert.Single(smtp.Messages);
        Assert.Contains("Why Language Models Hallucinate", message.TextBody);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries"));
    }

    [Fact]
    public async Task TemplatesCheckPassesOnTheShippedTemplates()
    {
        var result = await _host.RunAsync("templates", "check");

        Assert.Equal(0, result.Exit);
        Assert.Contains("All templates are valid.", result.Output);
    }

    [Fact]
    public async Task TemplatesCheckReportsFileLineAndColumn()
    {
        var templates = _host.CopyTemplates();
        await File.WriteAllTextAsync(Path.Combine(templates, "digest.txt.sbn"), "line one\n{{ for entry in issue.entries }}\n{{ entry.title ");

        var result = await _host.RunAsync("templates", "check");

        Assert.Equal(1, result.Exit);
        Assert.Matches(@"digest\.txt\.sbn:3:\d+: ", result.Error);
    }
}

public sealed class TemplateLintTests
{
    /// <summary>The one format: the file as the operator finds it, then line:col: message; never Scriban's "(5,40) : error :".</summary>
    private static void AssertOneFormat(string templates, string file, string output) =>
        Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(templates.Replace('\\', '/'))}/{System.Text.RegularExpressions.Regex.Escape(file)}:\d+:\d+: \S", output);

    [Fact]
    public async Task TemplatesCheckReportsParseAndRenderErrorsOfEveryFileInOnePass()
    {
        await using var host = new TestHost();
        var templates = await host.WriteTemplateAsync("digest.txt.sbn", "{{ unsubscribe_url }}\n{{ if }");
        await host.WriteTemplateAsync("confirm.subject.sbn", "{{ for }");
        await host.WriteTemplateAsync("digest.html.sbn", "{{ unsubscribe_url }}\n  {{ func f; f; end; f }}");
        await host.WriteTemplateAsync(Path.Combine("pages", "confirmed.html.sbn"), "<p>{{ func g; g; end; g }}</p>");

        var result = await host.RunAsync("templates", "check");

        Assert.True(result.Exit == 1, result.ToString());
        AssertOneFormat(templates, "digest.txt.sbn", result.Error);
        AssertOneFormat(templates, "confirm.subject.sbn", result.Error);
        AssertOneFormat(templates, "digest.html.sbn", result.Error);
        AssertOneFormat(templates, "pages/confirmed.html.sbn", result.Error);
        Assert.Contains("digest.html.sbn:2:", result.Error);
        Assert.DoesNotContain(": error :", result.Error);
    }

    [Fact]
    public async Task ARenderErrorIsReportedInTheSameFormatByPreview()
    {
        await using var host = new TestHost();
        var templates = await host.WriteTemplateAsync("digest.subject.sbn", "Papers {{ func f; f; end; f }}");

        var result = await host.RunAsync("preview", "--out", Path.Combine(host.Directory, "preview"));

        Assert.Equal(1, result.Exit);
        AssertOneFormat(templates, "digest.subject.sbn", result.Error.Replace("Cannot render: ", ""));
        Assert.DoesNotContain(": error :", result.Error);
    }

    [Theory]
    [InlineData("digest.html.sbn", "{{ for e in issue.entries }}{{ raw e.title }}{{ end }}{{ unsubscribe_url }}", "emits unescaped entry text")]
    [InlineData("digest.txt.sbn", "{{ for e in issue.entries }}{{ e.title }}{{ end }}", "does not contain the unsubscribe link")]
    [InlineData("digest.txt.sbn", "{{ for e in issue.entries }}{{ e.title }}{{ end }}{{ unsubscribe_url }}", "does not list issue.more")]
    [InlineData("confirm.txt.sbn", "Welcome!", "does not contain the confirmation link")]
    public async Task TemplatesCheckFlagsUnsafeOrIncompleteTemplates(string file, string content, string problem)
    {
        await using var host = new TestHost();
        await host.WriteTemplateAsync(file, content);

        var result = await host.RunAsync("templates", "check");

        Assert.Equal(1, result.Exit);
        Assert.Contains($"{file}:1:1: {problem}", result.Error);
    }
}
