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
    public void LearnedDigestWithFeedbackLinksAndRichCardsMatchesItsGoldenFiles()
    {
        var sample = TemplateChecker.SampleIssue();
        // As a reader on the learned ranking gets it: papers with their entry ids, why lines naming the liked paper
        // each is closest to (LearnedRanking's form), a card from the Hugging Face API, and signed feedback links.
        var issue = sample with
        {
            Entries =
            [
                sample.Entries[0] with { Why = "like \u201cLarge Language Models Guess When Unsure\u201d", EntryId = 4101 },
                sample.Entries[2] with
                {
                    Position = 2, EntryId = 4102,
                    Why = "matches \u201cdiffusion\u201d \u00b7 like \u201cDenoising Diffusion Probabilistic Models\u201d",
                    Card = new PaperCard(CodeUrl: "https://github.com/example/diffusion-lab", CodeStars: 1,
                        DiscussionUrl: "https://huggingface.co/papers/2509.01234", Comments: 0, Organization: "Example Lab"),
                },
                sample.Entries[1] with { Position = 3, EntryId = 4103, Why = "in cs.LG" },
            ],
            More = [sample.More[0] with { Position = 4, EntryId = 4104 }],
        };

        var digest = _host.Service<DigestRenderer>().Render(issue, new DigestRecipient("reader@example.org",
            "https://papers.example.org/unsubscribe?token=UNSUB", "https://papers.example.org/preferences?token=PREFS",
            static (entryId, more) => $"https://papers.example.org/feedback?token=FEEDBACK-{entryId}-{(more ? "MORE" : "LESS")}"));

        AssertGolden("digest-learned.subject.txt", digest.Subject);
        AssertGolden("digest-learned.html", digest.Html);
        AssertGolden("digest-learned.txt", digest.Text);
        // The parts that make this digest what it is, named so a regenerated golden file cannot lose them unnoticed.
        Assert.Contains("href=\"https://papers.example.org/feedback?token=FEEDBACK-4101-MORE\"", digest.Html);
        Assert.Contains("Less like this:\n   https://papers.example.org/feedback?token=FEEDBACK-4103-LESS", digest.Text);
        Assert.Contains("like \u201cLarge Language Models Guess When Unsure\u201d", digest.Text);
        Assert.Matches("href=\"https://github.com/openai/hallucinations\"[^>]*>Code</a> \u2605&nbsp;1234", digest.Html);
        Assert.Contains("Code (1234 stars): https://github.com/openai/hallucinations", digest.Text);
        Assert.Contains("Code (1 star): https://github.com/example/diffusion-lab", digest.Text);
        Assert.Contains(">3 comments</a>", digest.Html);
        Assert.Contains(">Discussion</a>", digest.Html);
        Assert.Contains("In short: Language models produce incorrect statements", digest.Text);
        // The hostile card: no script, no javascript: or data: link, its text escaped.
        Assert.DoesNotContain("<script", digest.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("javascript:", digest.Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("data:text", digest.Html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(9)&lt;/script&gt; Org &amp; Co", digest.Html);
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
