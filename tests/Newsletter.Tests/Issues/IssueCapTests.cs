using System.Text.RegularExpressions;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Issues;

/// <summary>The issue cap: papers past it are listed compactly or carried, never silently dropped; the carry-over is bounded.</summary>
public sealed partial class IssueCapTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateOnly Monday = new(2026, 11, 9);
    private readonly ManualClock _clock = new();
    private readonly TestHost _host = new(new() { ["Logging:LogLevel:Newsletter"] = "Information" });
    private int _papers;

    [GeneratedRegex(@"composed with (?<n>\d+) entries for \d+ subscribers \((?<full>\d+) in full, (?<more>\d+) under more papers; (?<carried>\d+) carried over to the next issue, (?<left>\d+) left out\)")]
    private static partial Regex ComposedLine();

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public async ValueTask InitializeAsync()
    {
        _host.Time = _clock;
        _clock.Now = At(Monday, 5);
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static DateTimeOffset At(DateOnly date, int hour) => new(date.ToDateTime(new TimeOnly(hour, 0)), TimeSpan.Zero);

    /// <summary>Papers first seen at 06:00 of that day, as a collect would store them.</summary>
    private async Task CollectAsync(DateOnly date, int count)
    {
        _clock.Now = At(date, 6);
        var papers = Enumerable.Range(0, count).Select(_ => ++_papers)
            .Select(n => new Entry($"arxiv:2611.{n:00000}", $"Paper {n}", "Abstract.", ["A. Author"], $"https://arxiv.org/abs/2611.{n:00000}", null, 0, "arxiv"))
            .ToList();
        await _host.Service<EntryStore>().UpsertAsync(papers, CancellationToken.None);
    }

    private async Task<(int Entries, int Full, int More, int Carried, int LeftOut)> SendAsync(DateOnly date)
    {
        _clock.Now = At(date, 7);
        var result = await _host.RunAsync("send-now", "--date", date.ToString("yyyy-MM-dd"));
        Assert.Equal(0, result.Exit);
        var match = ComposedLine().Match(result.Output);
        if (!match.Success)
            return (0, 0, 0, 0, 0);
        int Get(string name) => int.Parse(match.Groups[name].Value);
        return (Get("n"), Get("full"), Get("more"), Get("carried"), Get("left"));
    }

    [Fact]
    public async Task PapersPastTheCapAreCarriedIntoTheNextIssue()
    {
        _host.Set("Newsletter:MaxEntriesPerIssue", "50");
        _host.Set("Newsletter:MaxMoreEntriesPerIssue", "0");
        await CollectAsync(Monday, 54);

        var monday = await SendAsync(Monday);
        var tuesday = await SendAsync(Monday.AddDays(1));

        Assert.Equal((50, 50, 0, 4, 0), monday);
        Assert.Equal((4, 4, 0, 0, 0), tuesday);
        Assert.Equal(54L, await _host.QueryScalarAsync<long>("SELECT COUNT(DISTINCT entry_id) FROM issue_entries"));
        Assert.Contains(_host.Logs, l => l.Contains("Issue 2026-11-09 composed: holds 50 papers (50 in full, 0 in the more-papers list), 4 carried over to the next issue, 0 left out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithTheDefaultsA150PaperArxivDayReachesReadersThatDay()
    {
        await CollectAsync(Monday, 150);

        var monday = await SendAsync(Monday);

        Assert.Equal((150, 50, 100, 0, 0), monday);
        var mail = Directory.GetFiles(_host.Outbox, "*.eml").Single();
        var text = (await MimeKit.MimeMessage.LoadAsync(mail)).TextBody!;
        Assert.Contains("More papers (100):", text);
        Assert.Contains("1. Paper 1\n", text.Replace("\r\n", "\n"));
        Assert.Contains("150. Paper 150\n", text.Replace("\r\n", "\n"));
    }

    [Fact]
    public async Task WhenEveryDayBringsMoreThanAnIssueHoldsTheCarryOverStaysBoundedAndWhatAgesOutIsCounted()
    {
        _host.Set("Newsletter:MaxEntriesPerIssue", "2");
        _host.Set("Newsletter:MaxMoreEntriesPerIssue", "2");
        _host.Set("Newsletter:CarryOverMaxAge", "2.00:00:00");
        var days = new List<(int Entries, int Full, int More, int Carried, int LeftOut)>();

        output.WriteLine("| day | new | in issue | carried | left out |");
        for (var i = 0; i < 7; i++)
        {
            await CollectAsync(Monday.AddDays(i), 6);
            days.Add(await SendAsync(Monday.AddDays(i)));
            output.WriteLine($"| {Monday.AddDays(i):ddd} | 6 | {days[^1].Entries} | {days[^1].Carried} | {days[^1].LeftOut} |");
        }

        Assert.All(days, d => Assert.Equal(4, d.Entries));
        // Two days of overflow at most wait (CarryOverMaxAge = 2 days), whatever the week brings.
        Assert.All(days, d => Assert.InRange(d.Carried, 0, 2 * (6 - 4)));
        Assert.Equal([2, 4, 4, 4, 4, 4, 4], days.Select(d => d.Carried));
        Assert.Equal([0, 0, 2, 2, 2, 2, 2], days.Select(d => d.LeftOut));
        // Every paper is accounted for: sent, still waiting, or counted as left out.
        Assert.Equal(7 * 6, days.Sum(d => d.Entries) + days[^1].Carried + days.Sum(d => d.LeftOut));
        Assert.Equal(days.Sum(d => d.Entries), (int)await _host.QueryScalarAsync<long>("SELECT COUNT(DISTINCT entry_id) FROM issue_entries"));
    }

    [GeneratedRegex(@"no new entries since the previous issue, nothing composed \((?<left>\d+) left out\)")]
    private static partial Regex NothingComposedLine();

    [Fact]
    public async Task AnAgedOutPaperIsCountedOnceAcrossDaysWithoutAnIssue()
    {
        _host.Set("Newsletter:MaxEntriesPerIssue", "2");
        _host.Set("Newsletter:MaxMoreEntriesPerIssue", "0");
        _host.Set("Newsletter:CarryOverMaxAge", "1.00:00:00");
        await CollectAsync(Monday, 6);
        Assert.Equal((2, 2, 0, 4, 0), await SendAsync(Monday));

        // Tuesday 07:00: the 4 carried papers (first seen Monday 06:00) have aged out; nothing new.
        var leftOut = new List<int>();
        foreach (var (day, hour) in new[] { (1, 7), (1, 9), (2, 7), (3, 7) })
        {
            _clock.Now = At(Monday.AddDays(day), hour);
            var run = await _host.RunAsync("send-now", "--date", Monday.AddDays(day).ToString("yyyy-MM-dd"));
            // A second run on a date whose readers were all handled (here: nothing new, recorded as a
            // skip) composes nothing at all, so it cannot count anything again either.
            if (run.Output.Contains("already composed", StringComparison.Ordinal))
            {
                leftOut.Add(0);
                continue;
            }
            var match = NothingComposedLine().Match(run.Output);
            Assert.True(match.Success, run.Output);
            leftOut.Add(int.Parse(match.Groups["left"].Value));
        }
        await CollectAsync(Monday.AddDays(4), 1);
        var friday = await SendAsync(Monday.AddDays(4));

        Assert.Equal([4, 0, 0, 0], leftOut);
        Assert.Equal((1, 1, 0, 0, 0), friday);
    }
}

