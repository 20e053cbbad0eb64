using System.Text.RegularExpressions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Issues;

/// <summary>
/// A week as a new operator would live it: recorded Hugging Face, arXiv RSS 2.0 and journal RSS 1.0
/// feeds for each day (Fixtures/week, written by make_week.py) served from 127.0.0.1, collected at
/// 06:00 and sent at 07:00 on a manual clock, to three readers on a real SMTP server. The feeds
/// overlap (HF and arXiv carry the same papers under different id forms; the journal repeats a paper
/// under another DOI form), papers are revised (v2 announced as "replace"), Wednesday brings more
/// papers than an issue holds, Friday's journal feed has a title-only item and an unusable one,
/// and the weekend brings nothing new.
/// </summary>
public sealed partial class WeekScenarioTests(ITestOutputHelper output)
{
    private static readonly string[] Days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    private static readonly DateOnly Monday = new(2026, 11, 9);
    private static readonly string[] Readers = ["ada@example.org", "grace@example.org", "alan@example.org"];

    /// <summary>Every paper of the week: A (HF and arXiv), B (arXiv), F/G (Friday), J (journal).</summary>
    private static readonly string[] AllPapers =
    [
        .. Enumerable.Range(1, 4).Select(n => $"A{n}"), .. Enumerable.Range(1, 20).Select(n => $"B{n}"),
        "F1", "F2", "G1", "G2", .. Enumerable.Range(1, 6).Select(n => $"J{n}"),
    ];

    [GeneratedRegex(@"^\d+\. Paper (?<name>\S+) on steady progress", RegexOptions.Multiline)]
    private static partial Regex PaperLine();

    [GeneratedRegex(@"^(?<n>\d+) new entries from", RegexOptions.Multiline)]
    private static partial Regex CollectedLine();

    [GeneratedRegex(@"composed with (?<n>\d+) entries for \d+ subscribers \(\d+ in full, \d+ under more papers; (?<carried>\d+) carried over to the next issue, (?<left>\d+) left out\)")]
    private static partial Regex ComposedLine();

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed record Day(string Name, int Collected, int InIssue, int Carried, int LeftOut, int Digests, int Duplicated);

    [Fact]
    public async Task EveryPaperReachesEveryReaderExactlyOnceOverTheWeek()
    {
        var clock = new ManualClock { Now = new DateTimeOffset(Monday.ToDateTime(new TimeOnly(5, 0)), TimeSpan.Zero) };
        await using var feeds = await FixtureServer.StartAsync();
        await using var smtp = new SmtpSink();
        await using var host = new TestHost(new()
        {
            // A small issue, so one recorded day is enough to go over it: 4 in full + 4 under "More papers".
            ["Newsletter:MaxEntriesPerIssue"] = "4",
            ["Newsletter:MaxMoreEntriesPerIssue"] = "4",
            ["Logging:LogLevel:Newsletter"] = "Information",
        }) { Time = clock };
        host.UseSmtp(smtp.Port);
        host.UseSources(("huggingface", "HuggingFaceDaily", feeds.Url("/api/daily_papers")),
            ("arxiv-cs.LG", "Rss", feeds.Url("/rss/cs.LG")), ("journal", "Auto", feeds.Url("/nature.rss")));
        foreach (var reader in Readers)
            Assert.Equal(0, (await host.RunAsync("subscribers", "add", reader, "--confirmed")).Exit);

        var received = Readers.ToDictionary(r => r, _ => new List<string>());
        var days = new List<Day>();
        for (var i = 0; i < Days.Length; i++)
        {
            var date = Monday.AddDays(i);
            feeds.Serve("/api/daily_papers", $"week/hf_{Days[i]}.json");
            feeds.Serve("/rss/cs.LG", $"week/arxiv_{Days[i]}.xml");
            feeds.Serve("/nature.rss", $"week/journal_{Days[i]}.xml");

            clock.Now = new DateTimeOffset(date.ToDateTime(new TimeOnly(6, 0)), TimeSpan.Zero);
            var collect = await host.RunAsync("collect");
            Assert.True(collect.Exit == 0 && !(collect.Output + collect.Error).Contains("FAILED"), collect.ToString());

            clock.Now = new DateTimeOffset(date.ToDateTime(new TimeOnly(7, 0)), TimeSpan.Zero);
            var before = smtp.Messages.Count;
            var send = await host.RunAsync("send-now", "--date", date.ToString("yyyy-MM-dd"));
            Assert.Equal(0, send.Exit);
            Assert.Contains("0 deferred, 0 failed", send.Output);

            var messages = smtp.Messages.Skip(before).ToList();
            var duplicated = 0;
            var inIssue = new HashSet<int>();
            foreach (var message in messages)
            {
                var reader = message.To.Mailboxes.Single().Address;
                var papers = PaperLine().Matches(message.TextBody!).Select(m => m.Groups["name"].Value).ToList();
                duplicated += papers.Count(p => received[reader].Contains(p)) + (papers.Count - papers.Distinct().Count());
                received[reader].AddRange(papers);
                inIssue.Add(papers.Count);
                // The HTML part lists the same papers as the text part.
                foreach (var paper in papers)
                    Assert.Contains($"Paper {paper} on steady progress", message.HtmlBody);
            }
            Assert.True(inIssue.Count <= 1, "every reader of one issue gets the same papers");
            var composed = ComposedLine().Match(send.Output);
            days.Add(new Day(date.ToString("ddd yyyy-MM-dd"),
                int.Parse(CollectedLine().Match(collect.Output).Groups["n"].Value),
                composed.Success ? int.Parse(composed.Groups["n"].Value) : 0,
                composed.Success ? int.Parse(composed.Groups["carried"].Value) : 0,
                composed.Success ? int.Parse(composed.Groups["left"].Value) : 0,
                messages.Count, duplicated));
        }

        output.WriteLine("| day | papers collected (new) | papers sent (per reader) | carried to next issue | left out | digests | duplicated |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var day in days)
            output.WriteLine($"| {day.Name} | {day.Collected} | {day.InIssue} | {day.Carried} | {day.LeftOut} | {day.Digests} | {day.Duplicated} |");
        output.WriteLine($"| week | {days.Sum(d => d.Collected)} | {days.Sum(d => d.InIssue)} | | {days.Sum(d => d.LeftOut)} | {days.Sum(d => d.Digests)} | {days.Sum(d => d.Duplicated)} |");

        foreach (var reader in Readers)
        {
            Assert.Equal(AllPapers.Order(), received[reader].Order());
            Assert.Equal(received[reader].Count, received[reader].Distinct().Count());
        }
        Assert.Equal([8, 5, 13, 2, 6, 0, 0], days.Select(d => d.Collected));
        Assert.Equal([8, 5, 8, 7, 6, 0, 0], days.Select(d => d.InIssue));
        Assert.Equal([0, 0, 5, 0, 0, 0, 0], days.Select(d => d.Carried));
        Assert.All(days, d => Assert.Equal(0, d.LeftOut));
        Assert.All(days, d => Assert.Equal(0, d.Duplicated));
        Assert.Equal([3, 3, 3, 3, 3, 0, 0], days.Select(d => d.Digests));
        Assert.Equal(AllPapers.Length, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM entries"));
        Assert.Equal(5L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM issues"));
        // Later sightings keep the best score: A1 was upvoted again on Tuesday, after it was sent.
        Assert.Equal(9L, await host.QueryScalarAsync<long>("SELECT score FROM entries WHERE canonical_id = 'arxiv:2611.10001'"));
        Assert.Contains(host.Logs, l => l.Contains("Issue 2026-11-11 composed: holds 8 papers (4 in full, 4 in the more-papers list), 5 carried over to the next issue, 0 left out", StringComparison.Ordinal));
        Assert.Single(host.Logs, l => l.Contains("Source journal: skipped item 3 has no id, link or title", StringComparison.Ordinal));
    }
}
