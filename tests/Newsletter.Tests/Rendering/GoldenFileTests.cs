using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>
/// Each shipped mail template against fixed input, compared with the expected output in
/// <c>Rendering/Golden/</c>. After an intended template change, regenerate with
/// <c>UPDATE_GOLDEN=1 dotnet test Newsletter.sln</c> and review the diff.
/// </summary>
public sealed class GoldenFileTests : IAsyncLifetime
{
    private static readonly string GoldenDirectory = Path.Combine(SourceDirectory(), "Rendering", "Golden");
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void DigestMatchesItsGoldenFiles()
    {
        var digest = _host.Service<DigestRenderer>().Render(TemplateChecker.SampleIssue(),
            new DigestRecipient("reader@example.org", "https://papers.example.org/unsubscribe?token=UNSUB", "https://papers.example.org/preferences?token=PREFS"));

        AssertGolden("digest.subject.txt", digest.Subject);
        AssertGolden("digest.html", digest.Html);
        AssertGolden("digest.txt", digest.Text);
    }

    [Fact]
    public void PersonalDigestWithWhyLinesMatchesItsGoldenFiles()
    {
        var sample = TemplateChecker.SampleIssue();
        var issue = sample with
        {
            Cadence = "weekly",
            Entries =
            [
                sample.Entries[0] with { Why = "matches \u201clarge language\u201d, in cs.CL \u00b7 26 upvotes" },
                sample.Entries[1] with { Why = "by Mallory <m@example.org>" },
            ],
        };

        var digest = _host.Service<DigestRenderer>().Render(issue,
            new DigestRecipient("reader@example.org", "https://papers.example.org/unsubscribe?token=UNSUB", "https://papers.example.org/preferences?token=PREFS"));

        AssertGolden("digest-why.subject.txt", digest.Subject);
        AssertGolden("digest-why.html", digest.Html);
        AssertGolden("digest-why.txt", digest.Text);
        Assert.Contains("<p class=\"why\" style=", digest.Html);
        Assert.Contains("by Mallory &lt;m@example.org&gt;", digest.Html);
    }

    [Fact]
    public async Task ConfirmationMailMatchesItsGoldenFiles()
    {
        await using var smtp = new SmtpSink();
        _host.UseSmtp(smtp.Port);
        // Adding an address without --confirmed sends it the confirmation mail.
        await _host.RunAsync("subscribers", "add", "reader@example.org");

        var mail = Assert.Single(smtp.Messages);
        // The signed tokens differ per host (its own secret): named instead.
        var tokens = System.Text.RegularExpressions.Regex.Matches(mail.TextBody!, @"/(confirm|preferences)\?token=(\S+)")
            .ToDictionary(match => match.Groups[2].Value, match => match.Groups[1].Value == "confirm" ? "TOKEN" : "PREFS-TOKEN");
        string Named(string body) => tokens.Aggregate(body, (text, token) => text.Replace(token.Key, token.Value, StringComparison.Ordinal));
        Assert.Equal(2, tokens.Count);
        AssertGolden("confirm.subject.txt", mail.Subject!);
        AssertGolden("confirm.html", Named(mail.HtmlBody!));
        AssertGolden("confirm.txt", Named(mail.TextBody!));
    }

    private static void AssertGolden(string name, string actual)
    {
        var path = Path.Combine(GoldenDirectory, name);
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(GoldenDirectory);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"no golden file {path}; run with UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n"), actual);
    }

    /// <summary>The test project's source folder, where golden files live (found from the build output).</summary>
    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string file = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(file))!;
}
