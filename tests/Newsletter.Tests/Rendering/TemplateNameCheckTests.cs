using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>
/// <c>templates check</c> reports a name the service does not pass (it would render as empty text
/// in every mail) at its <c>file:line:col</c> with the nearest known name; names a template defines
/// itself and Scriban's builtins are not reported; the real renders stay lenient.
/// </summary>
public sealed class TemplateNameCheckTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private string _templates = "";

    public ValueTask InitializeAsync()
    {
        _templates = _host.CopyTemplates();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    /// <summary>Puts <paramref name="lines"/> before the shipped content of <paramref name="file"/>, so that the rest stays valid.</summary>
    private async Task PrependAsync(string file, params string[] lines)
    {
        var path = Path.Combine(_templates, file);
        await File.WriteAllTextAsync(path, string.Join("\n", lines) + "\n" + await File.ReadAllTextAsync(path));
    }

    /// <summary>"file:line:col: " of <paramref name="word"/> on line <paramref name="line"/> of <paramref name="lines"/>, as the check prints it.</summary>
    private static string At(string file, string[] lines, int line, string word) =>
        $"{file}:{line}:{lines[line - 1].IndexOf(word, StringComparison.Ordinal) + 1}: ";

    [Fact]
    public async Task MisspeltVariablesAndMembersAreReportedAtTheirPlaceWithTheNearestName()
    {
        string[] lines =
        [
            "{{ issue.date_txt }}",
            "{{ for entry in issue.entries }}{{ entry.titel }}{{ end }}",
            "{{ subscriber.emial }}",
            "{{ isue.date }}",
        ];
        await PrependAsync("digest.txt.sbn", lines);

        var result = await _host.RunAsync("templates", "check");

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains(At("digest.txt.sbn", lines, 1, "date_txt") + "issue.date_txt is not a known variable (it would render as empty text); did you mean issue.date_text?", result.Error);
        Assert.Contains(At("digest.txt.sbn", lines, 2, "titel") + "entry.titel is not a known variable (it would render as empty text); did you mean entry.title?", result.Error);
        Assert.Contains(At("digest.txt.sbn", lines, 3, "emial") + "subscriber.emial is not a known variable (it would render as empty text); did you mean subscriber.email?", result.Error);
        Assert.Contains(At("digest.txt.sbn", lines, 4, "isue") + "isue is not a known variable (it would render as empty text); did you mean issue?", result.Error);
        // Reading a member of nothing fails the render, as it does for readers (said once, beside the name).
        Assert.Single(result.Error.Split('\n'), l => l.Contains("Cannot get the member isue.date for a null object", StringComparison.Ordinal));
        // Each once, although the loop and the other sample issues read them again.
        Assert.Equal(4, result.Error.Split('\n').Count(l => l.Contains("is not a known variable", StringComparison.Ordinal)));
        Assert.Contains("5 template error(s).", result.Output);
    }

    [Fact]
    public async Task NamesTheTemplateDefinesAndBuiltinsAreNotReported()
    {
        await PrependAsync("digest.html.sbn",
            "{{ capture greeting }}Hello{{ end }}{{ greeting }}",
            "{{ for e in issue.entries }}{{ for.index }}{{ e.title | string.upcase }}{{ for a in e.authors }}{{ a }}{{ end }}{{ end }}",
            "{{ total = issue.paper_count }}{{ total }} {{ issue.entries | array.size }} {{ array.size issue.more }}",
            "{{ func twice(x); ret x * 2; end }}{{ twice issue.entry_count }}",
            "{{ date.now | date.to_string '%Y' }} {{ html.escape issue.date }} {{ raw newsletter.name }}",
            "{{ with subscriber }}{{ email }}{{ end }}");

        var result = await _host.RunAsync("templates", "check");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("All templates are valid.", result.Output);
    }

    [Fact]
    public async Task MailsPagesAndPartialsAreCheckedAgainstWhatTheServicePassesThem()
    {
        await PrependAsync("confirm.txt.sbn", "{{ confirm_link }}");
        await PrependAsync(Path.Combine("pages", "preferences.html.sbn"), "{{ time_zon }}");
        // The confirmed page gets no token (only the confirm and unsubscribe pages do).
        await PrependAsync(Path.Combine("pages", "confirmed.html.sbn"), "{{ token }}");
        Directory.CreateDirectory(Path.Combine(_templates, "partials"));
        await File.WriteAllTextAsync(Path.Combine(_templates, "partials", "paper.html.sbn"), "<b>{{ entry.titel }}</b>");
        await PrependAsync("digest.html.sbn", "{{ for entry in issue.entries }}{{ raw (include 'partials/paper.html.sbn') }}{{ end }}");

        var result = await _host.RunAsync("templates", "check");

        Assert.True(result.Exit == 1, result.ToString());
        Assert.Contains("confirm.txt.sbn:1:4: confirm_link is not a known variable (it would render as empty text); did you mean confirm_url?", result.Error);
        Assert.Contains("pages/preferences.html.sbn:1:4: time_zon is not a known variable (it would render as empty text); did you mean time_zone?", result.Error);
        Assert.Contains("pages/confirmed.html.sbn:1:4: token is not a known variable (it would render as empty text); known: email, newsletter, preferences_url, title", result.Error);
        Assert.Contains("partials/paper.html.sbn:1:13: entry.titel is not a known variable (it would render as empty text); did you mean entry.title?", result.Error);
    }

    [Fact]
    public async Task TheRealRenderStaysLenientAboutAMisspeltName()
    {
        await PrependAsync("digest.txt.sbn", "Date: [{{ issue.date_txt }}]");

        var digest = _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(),
            new DigestRecipient("reader@example.org", "https://papers.example.org/u", "https://papers.example.org/p"));

        Assert.StartsWith("Date: []", digest.Text);
        Assert.Contains("Why Language Models Hallucinate", digest.Text);
    }
}
