using System.Text;
using System.Text.RegularExpressions;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>
/// With the default templates and caps, each part of any digest stays under 100 KB (Gmail clips an
/// HTML part past ~102 KB and hides the footer with the unsubscribe link): abstracts give way from
/// the bottom up, the compact list is capped by bytes, and what does not fit is carried, never lost.
/// </summary>
public sealed partial class DigestSizeBudgetTests : IAsyncLifetime
{
    private readonly TestHost _host = new(new() { ["Logging:LogLevel:Newsletter"] = "Information" });

    public async ValueTask InitializeAsync() =>
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [GeneratedRegex(@"composed with (?<n>\d+) entries for \d+ subscribers \((?<full>\d+) in full, (?<more>\d+) under more papers; (?<carried>\d+) carried over to the next issue, (?<left>\d+) left out\)")]
    private static partial Regex ComposedLine();

    /// <summary>
    /// A real-length paper: a ~120-character title, eight authors, an abstract of exactly <paramref name="abstractLength"/> characters,
    /// and a rich card as the Hugging Face API gives one (code with stars, project page, discussion, organisation, summary, keywords)
    /// unless <paramref name="card"/> says otherwise.
    /// </summary>
    private static Entry Paper(int n, int abstractLength, string topic = "optimization", PaperCard? card = null)
    {
        var words = new[] { "We", "study", "how", "sparse", "expert", "routing", "interacts", "with", "long-context", "attention", "and", "report", "gains", "on", "reasoning", "benchmarks." };
        var summary = new StringBuilder($"On {topic}: ");
        for (var i = 0; summary.Length < abstractLength; i++)
            summary.Append(words[(i + n) % words.Length]).Append(' ');
        var title = $"Paper {n}: Scaling Sparse Mixture-of-Experts Models for Long-Context Reasoning under a Fixed Inference Budget";
        var authors = Enumerable.Range(1, 8).Select(a => $"Author{a} Surname{n}").ToList();
        card ??= new PaperCard($"https://github.com/example-lab/sparse-experts-{n}", 100 + n, $"https://example-lab.github.io/sparse-experts-{n}/",
            $"https://huggingface.co/papers/2611.{n:00000}", n % 7, "Example Research Laboratory",
            "Sparse mixture-of-experts models with long-context attention reach better reasoning accuracy at a fixed inference budget by routing tokens to fewer, larger experts.",
            ["mixture of experts", "sparse routing", "long-context attention", "reasoning benchmarks", "inference budget", "scaling laws", "expert capacity", "load balancing"]);
        return new Entry($"arxiv:2611.{n:00000}", title, summary.ToString()[..abstractLength], authors, $"https://arxiv.org/abs/2611.{n:00000}", null, 1000 - n, "arxiv",
            Card: card);
    }

    /// <summary>A card with every field at its cap (<see cref="PaperCard"/>'s limits): the most a hostile or unusual source can put on a paper.</summary>
    private static PaperCard LargestCard(int n)
    {
        string Link(string host) => $"https://{host}/{n}/" + new string('x', PaperCard.MaxLinkLength - $"https://{host}/{n}/".Length);
        return new PaperCard(Link("github.com"), PaperCard.MaxCount, Link("project.example.org"), Link("huggingface.co"), PaperCard.MaxCount,
            new string('O', PaperCard.MaxOrganizationLength), string.Concat(Enumerable.Repeat("Summary words that go on. ", 40))[..PaperCard.MaxAiSummaryLength],
            Enumerable.Range(1, PaperCard.MaxKeywords).Select(k => $"{k:00} " + new string('k', PaperCard.MaxKeywordLength - 3)).ToArray());
    }

    private async Task<(int Html, int Text, MimeKit.MimeMessage Message)> SentDigestAsync(string to = "ada@example.org")
    {
        var file = Directory.GetFiles(_host.Outbox, "*.eml").Select(f => (File: f, Message: MimeKit.MimeMessage.Load(f)))
            .Single(m => m.Message.To.Mailboxes.Single().Address == to);
        var html = Encoding.UTF8.GetByteCount(file.Message.HtmlBody!.ReplaceLineEndings("\r\n"));
        var text = Encoding.UTF8.GetByteCount(file.Message.TextBody!.ReplaceLineEndings("\r\n"));
        await Task.CompletedTask;
        return (html, text, file.Message);
    }

    private static void AssertUnsubscribeWithinBudget(MimeKit.MimeMessage message)
    {
        foreach (var body in new[] { message.HtmlBody!, message.TextBody! })
        {
            var at = Encoding.UTF8.GetByteCount(body.ReplaceLineEndings("\r\n")[..body.ReplaceLineEndings("\r\n").IndexOf("/unsubscribe?token=", StringComparison.Ordinal)]);
            Assert.InRange(at, 1, DigestSizeBudget.PartLimit);
        }
    }

    [Fact]
    public async Task A150PaperDayWithLongAbstractsStaysUnder100KBAndLosesNoPaper()
    {
        await _host.Service<EntryStore>().UpsertAsync(Enumerable.Range(1, 150).Select(n => Paper(n, 1_900)).ToList(), CancellationToken.None);

        var send = await _host.RunAsync("send-now");

        Assert.Equal(0, send.Exit);
        var (html, text, message) = await SentDigestAsync();
        Assert.InRange(html, 1, DigestSizeBudget.PartLimit - 1);
        Assert.InRange(text, 1, DigestSizeBudget.PartLimit - 1);
        AssertUnsubscribeWithinBudget(message);
        // Abstracts give way from the bottom up, with a link to the rest: on a day this heavy, with a rich card and feedback
        // links on every paper, the best papers show their one-sentence AI summary in place of the abstract, the rest
        // their title, first author and code and discussion links.
        var plain = message.TextBody!.ReplaceLineEndings("\n");
        Assert.Contains("Read more</a>", message.HtmlBody);
        Assert.Contains("\u2026", plain);
        Assert.Contains("In short: Sparse mixture-of-experts models", plain.Split("\n2. ")[0]);
        Assert.InRange(Regex.Matches(message.HtmlBody!, "class=\"tldr\"").Count, 10, 50);
        // Every paper is in it: 50 in full, 100 under More papers, none carried or left out.
        var counts = ComposedLine().Match(send.Output);
        Assert.True(counts.Success, send.Output);
        Assert.Equal(("150", "50", "100", "0", "0"), (counts.Groups["n"].Value, counts.Groups["full"].Value, counts.Groups["more"].Value, counts.Groups["carried"].Value, counts.Groups["left"].Value));
        for (var n = 1; n <= 150; n++)
            Assert.Contains($"Paper {n}:", plain);
        // Rich cards and feedback links on every paper in full, all within the budget.
        Assert.Equal(50, Regex.Matches(message.HtmlBody!, ">More like this</a>").Count);
        Assert.Equal(50, Regex.Matches(message.HtmlBody!, ">Code</a>").Count);
        Assert.Contains("Code (101 stars): https://github.com/example-lab/sparse-experts-1", plain);
    }

    [Fact]
    public async Task A150PaperDayWithEveryCardFieldAtItsCapStaysUnder100KBAndLosesNoPaper()
    {
        var papers = Enumerable.Range(1, 150).Select(n => Paper(n, 1_900, card: LargestCard(n))).ToList();
        // As stored: the caps hold (a parsed entry goes through the same WithinLimits).
        Assert.All(papers, p => Assert.Equal(PaperCard.MaxLinkLength, p.WithinLimits().Card!.CodeUrl!.Length));
        await _host.Service<EntryStore>().UpsertAsync(papers, CancellationToken.None);

        var send = await _host.RunAsync("send-now");

        Assert.Equal(0, send.Exit);
        var (html, text, message) = await SentDigestAsync();
        Assert.InRange(html, 1, DigestSizeBudget.PartLimit - 1);
        Assert.InRange(text, 1, DigestSizeBudget.PartLimit - 1);
        AssertUnsubscribeWithinBudget(message);
        var plain = message.TextBody!.ReplaceLineEndings("\n");
        for (var n = 1; n <= 150; n++)
            Assert.Contains($"Paper {n}:", plain);
        // The cards give way (from the bottom up, as the abstracts do) before anything else: the best paper keeps its code
        // and discussion links; at the bottom, papers in full show their title, first author and feedback links only.
        Assert.Contains($"href=\"{papers[0].Card!.CodeUrl}\"", message.HtmlBody);
        Assert.Contains($"href=\"{papers[0].Card!.DiscussionUrl}\"", message.HtmlBody);
        Assert.DoesNotContain(papers[49].Card!.CodeUrl!, message.HtmlBody);
        // Each paper in full carries its feedback links, counted in the budget like everything else.
        Assert.Equal(50, Regex.Matches(message.HtmlBody!, ">More like this</a>").Count);
    }

    [Fact]
    public async Task A98PaperPersonalDigestWithReasonsStaysUnder100KB()
    {
        await _host.RunAsync("subscribers", "add", "bo@example.org", "--confirmed", "--keywords", "diffusion");
        // 200 papers of the day, 98 of them about diffusion: Bo's digest has 98 papers, each with its reason.
        await _host.Service<EntryStore>().UpsertAsync(
            Enumerable.Range(1, 200).Select(n => Paper(n, 1_000 + n * 37 % 900, n % 2 == 0 && n <= 196 ? "diffusion" : "optimization")).ToList(), CancellationToken.None);

        Assert.Equal(0, (await _host.RunAsync("send-now")).Exit);

        var (html, text, message) = await SentDigestAsync("bo@example.org");
        Assert.InRange(html, 1, DigestSizeBudget.PartLimit - 1);
        Assert.InRange(text, 1, DigestSizeBudget.PartLimit - 1);
        AssertUnsubscribeWithinBudget(message);
        var plain = message.TextBody!.ReplaceLineEndings("\n");
        Assert.Contains("More papers (48):", plain);
        Assert.Contains("matches \u201cdiffusion\u201d", plain);
        Assert.Equal(50, Regex.Matches(message.HtmlBody!, ">More like this</a>").Count);
        Assert.Equal(50, Regex.Matches(message.HtmlBody!, ">Code</a>").Count);
        for (var n = 2; n <= 196; n += 2)
            Assert.Contains($"Paper {n}:", plain);
    }

    [Fact]
    public async Task PapersPastTheByteCapOfTheCompactListAreCarriedIntoTheNextIssue()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 9, 6, 0, 0, TimeSpan.Zero));
        _host.Time = clock;
        await _host.RunAsync("subscribers", "add", "cy@example.org", "--confirmed");
        // 400 papers: 50 in full and 250 more would be allowed by count; the compact list's bytes stop it earlier.
        await _host.Service<EntryStore>().UpsertAsync(Enumerable.Range(1, 400).Select(n => Paper(n, 1_500)).ToList(), CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(1));

        var monday = await _host.RunAsync("send-now", "--date", "2026-11-09");

        Assert.Equal(0, monday.Exit);
        var first = ComposedLine().Match(monday.Output);
        Assert.True(first.Success, monday.Output);
        var (more, carried) = (int.Parse(first.Groups["more"].Value), int.Parse(first.Groups["carried"].Value));
        Assert.True(more is >= 50 and <= 249, monday.Output);
        Assert.Equal(350 - more, carried);
        var (html, text, message) = await SentDigestAsync("cy@example.org");
        Assert.InRange(html, 1, DigestSizeBudget.PartLimit - 1);
        Assert.InRange(text, 1, DigestSizeBudget.PartLimit - 1);
        AssertUnsubscribeWithinBudget(message);
        foreach (var file in Directory.GetFiles(_host.Outbox))
            File.Delete(file);

        clock.Advance(TimeSpan.FromDays(1));
        var tuesday = await _host.RunAsync("send-now", "--date", "2026-11-10");

        Assert.Equal(0, tuesday.Exit);
        var plain = (await SentDigestAsync("cy@example.org")).Message.TextBody!.ReplaceLineEndings("\n");
        // The first paper that found no room on Monday leads Tuesday's digest.
        Assert.Contains($"1. Paper {50 + more + 1}:", plain);
    }

    [Fact]
    public async Task TheShippedTemplatesPassTheSizeCheckWithoutAWarning()
    {
        var check = await _host.RunAsync("templates", "check");

        Assert.Equal(0, check.Exit);
        Assert.DoesNotContain("warning:", check.Error);
    }

    [Fact]
    public async Task TemplatesThatPrintTooMuchPerPaperAreWarnedAboutByCheckAndPreview()
    {
        // Each paper's title printed 40 times: no shortening brings a heavy day under 100 KB.
        var shipped = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "templates", "digest.html.sbn"));
        await _host.WriteTemplateAsync("digest.html.sbn", shipped.Replace(
            "<p class=\"abstract\">{{ entry.summary }}", "<p>{{ for i in 1..40 }}{{ entry.title }} {{ end }}</p>\n<p class=\"abstract\">{{ entry.summary }}", StringComparison.Ordinal));
        await _host.Service<EntryStore>().UpsertAsync(Enumerable.Range(1, 3).Select(n => Paper(n, 1_200)).ToList(), CancellationToken.None);

        var check = await _host.RunAsync("templates", "check");
        var preview = await _host.RunAsync("preview", "--out", Path.Combine(_host.Directory, "preview"));

        Assert.True(check.Exit == 0, check.ToString());
        Assert.Matches(@"warning: .*digest\.html\.sbn: a sample day of 50 papers in full .* renders a [\d,]+-byte HTML part, over 100,000", check.Error);
        Assert.DoesNotContain("digest.txt.sbn", check.Error);
        Assert.Equal(0, preview.Exit);
        Assert.Contains("digest.html.sbn: a sample day", preview.Error);
    }
}
