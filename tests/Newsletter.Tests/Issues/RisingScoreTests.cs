using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Newsletter.Orchestration;
using Newsletter.Sources;
using Newsletter.Storage;
using Newsletter.Tests.Support;
using Xunit;

namespace Newsletter.Tests.Issues;

/// <summary>
/// Six days on a fake clock, fortnight-style: arXiv RSS and Hugging Face feeds served from
/// 127.0.0.1, collected at 01:00 UTC, the scheduler's quarter-hour poll, a real SMTP server. Papers
/// first collected from arXiv at score 0 trend on Hugging Face later (one paper, one row, its score
/// raised by the later fetch); readers with a minimum score must get them once they reach it.
/// </summary>
public sealed class RisingScoreTests : IAsyncDisposable
{
    // Monday 6 October 2025.
    private static readonly DateTimeOffset Start = new(2025, 10, 6, 0, 0, 0, TimeSpan.Zero);
    private const int Days = 6;

    private const string Rising = "2510.01001";   // arXiv day 0 at 0; Hugging Face day 1 at 25, day 2 and 3 at 40
    private const string Late = "2510.01002";     // arXiv day 0 at 0; Hugging Face day 4 at 50: past CarryOverMaxAge (3 days)
    private const string Recent = "2510.01003";   // arXiv day 2 at 0; Hugging Face day 4 at 30: within CarryOverMaxAge

    private static readonly Dictionary<string, string> Titles = new()
    {
        [Rising] = "Sparse attention for long documents",
        [Late] = "Graph transformers at scale",
        [Recent] = "Diffusion models for robot control",
    };

    /// <summary>Per day: the arXiv papers announced, and Hugging Face's list with its upvotes.</summary>
    private static readonly (string[] Arxiv, (string Id, int Upvotes)[] HuggingFace)[] Feeds =
    [
        ([Rising, Late], []),
        ([], [(Rising, 25)]),
        ([Recent], [(Rising, 40)]),
        ([], [(Rising, 40)]),
        ([], [(Late, 50), (Recent, 30)]),
        ([], []),
    ];

    private readonly FakeTimeProvider _time = new(Start);
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new(new()
    {
        ["Newsletter:Schedule:TimeZone"] = "UTC",
        ["Newsletter:Schedule:Digest"] = "0 0 7 * * ?",
        ["Newsletter:CarryOverMaxAge"] = "3.00:00:00",
    });

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public async Task APaperThatRisesToAReadersMinimumWhileRecentReachesThemOnceAndNobodyElseAgain()
    {
        await using var feeds = await FixtureServer.StartAsync();
        _host.Time = _time;
        _host.UseSmtp(_smtp.Port);
        _host.UseSources(("hf", "HuggingFaceDaily", feeds.Url("/hf")), ("arxiv-cs", "Rss", feeds.Url("/rss")));
        foreach (var add in new[]
        {
            new[] { "subscribers", "add", "twenty@example.org", "--confirmed", "--min-score", "20" },
            ["subscribers", "add", "everything@example.org", "--confirmed"],
            ["subscribers", "add", "quantum@example.org", "--confirmed", "--keywords", "quantum", "--min-score", "20"],
        })
        {
            var added = await _host.RunAsync(add);
            Assert.True(added.Exit == 0, added.ToString());
        }
        var app = _host.Build(["run"], _time);
        await app.Services.GetRequiredService<StartupTasks>().RunAsync(CancellationToken.None);
        var collector = app.Services.GetRequiredService<Collector>();
        var digest = app.Services.GetRequiredService<DailyDigest>();
        var previews = app.Services.GetRequiredService<DigestPreviews>();
        var previewed = new List<string>();

        for (var now = Start; now < Start.AddDays(Days); now = now.AddMinutes(15))
        {
            _time.SetUtcNow(now);
            if (now.Hour == 1 && now.Minute == 0)
            {
                Serve(feeds, (int)(now - Start).TotalDays);
                var reports = await collector.CollectAsync(CancellationToken.None);
                Assert.DoesNotContain(reports, r => r.Error is not null);
            }
            // Between the collect and the digest, the preview shows what is about to be sent.
            if (now.Hour == 3 && now.Minute == 0 && (int)(now - Start).TotalDays is 1 or 2)
            {
                var (issue, note) = await previews.IssueForAsync("twenty@example.org", null, CancellationToken.None);
                previewed.Add($"day {(int)(now - Start).TotalDays}: " + (issue is null ? note : string.Join(' ', issue.Entries.Concat(issue.More).Select(e => e.Url))));
            }
            await digest.RunAsync(null, null, CancellationToken.None);
        }

        var twenty = Received("twenty@example.org");
        var everything = Received("everything@example.org");
        // The reader with a minimum of 20 gets the paper the day it reaches 25, and not again at 40.
        Assert.Equal($"day 1: {Rising} | day 4: {Recent}", twenty);
        Assert.Contains("25 upvotes", _smtp.To("twenty@example.org").Single(m => (m.Date - Start).Days == 1).TextBody);
        Assert.Equal($"day 1: https://arxiv.org/abs/{Rising}", previewed[0]);
        Assert.StartsWith("day 2: No digest would be sent to twenty@example.org now: none of the 1 new papers matched", previewed[1]);
        // A reader without a minimum got it on the first day, with the other new paper, and never again.
        Assert.Equal($"day 0: {Rising} {Late} | day 2: {Recent}", everything);
        // A keyword that did not match still does not, whatever the score.
        Assert.Empty(_smtp.To("quantum@example.org"));
        Assert.True(await _host.QueryScalarAsync<long>(
            "SELECT COUNT(*) FROM digest_skips k JOIN subscribers s ON s.id = k.subscriber_id WHERE s.email = 'quantum@example.org'") >= 3);
        // One paper, one row: its score is the best seen, and the rise that mattered is recorded.
        Assert.Equal(3L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM entries"));
        Assert.Equal(40L, await _host.QueryScalarAsync<long>($"SELECT score FROM entries WHERE canonical_id = 'arxiv:{Rising}'"));
        Assert.Equal(DbTime.ToDb(Start.AddDays(2).AddHours(1)),
            await _host.QueryScalarAsync<long>($"SELECT score_raised_at FROM entries WHERE canonical_id = 'arxiv:{Rising}'"));
    }

    /// <summary>The reader's mail by day of the run: "day 1: ID ID | day 4: ID", each mail's arXiv ids in order (a paper twice in one mail shows twice).</summary>
    private string Received(string email) => string.Join(" | ", _smtp.To(email).OrderBy(m => m.Date).Select(m =>
        $"day {(m.Date - Start).Days}: " + string.Join(' ', Regex.Matches(m.TextBody!, @"https://arxiv\.org/abs/(\d{4}\.\d{5})").Select(x => x.Groups[1].Value).Order(StringComparer.Ordinal))));

    private static void Serve(FixtureServer feeds, int day)
    {
        var (arxiv, huggingFace) = Feeds[day];
        var rss = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><title>cs updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs</link><description>cs</description>""");
        foreach (var id in arxiv)
        {
            rss.Append($"<item><title>{WebUtility.HtmlEncode(Titles[id])}</title><link>https://arxiv.org/abs/{id}</link>");
            rss.Append($"<description>arXiv:{id}v1 Announce Type: new \nAbstract: We study {WebUtility.HtmlEncode(Titles[id].ToLowerInvariant())}.</description>");
            rss.Append($"<guid isPermaLink=\"false\">oai:arXiv.org:{id}v1</guid><category>cs.LG</category><dc:creator>Ada Lovelace, Alan Turing</dc:creator></item>");
        }
        rss.Append("</channel></rss>");
        feeds.Files["/rss"] = Encoding.UTF8.GetBytes(rss.ToString());
        feeds.Files["/hf"] = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(huggingFace.Select(p => new
        {
            paper = new { id = p.Id, title = Titles[p.Id], summary = $"We study {Titles[p.Id].ToLowerInvariant()}.", upvotes = p.Upvotes, authors = new[] { new { name = "Ada Lovelace" }, new { name = "Alan Turing" } } },
            publishedAt = Start.AddDays(day).ToString("O", CultureInfo.InvariantCulture),
        }));
    }
}
