using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Sources;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;
using Xunit;

namespace Newsletter.Tests.Issues;

/// <summary>
/// Two weeks of a real installation on a fake clock: overlapping Hugging Face and arXiv feeds
/// served from 127.0.0.1 (revised versions, papers that trend again, a weekend with nothing new,
/// categories of HF papers looked up at a fake arXiv API), 50 readers in 6 time zones with
/// different filters, cadences and days, one joining and one leaving half-way, the scheduler's
/// quarter-hour poll, and a real SMTP server. Each reader's mail is checked against an
/// independent model of what they asked for.
/// </summary>
public sealed class FortnightTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Monday 29 September 2025: Sydney moves its clocks from 02:00 to 03:00 on Sunday 5 October.
    private static readonly DateTimeOffset Start = new(2025, 9, 29, 0, 0, 0, TimeSpan.Zero);
    private const int Days = 14;
    private static readonly string[] Zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"];
    private static readonly string[] Categories = ["cs.LG", "cs.CV", "cs.CL", "stat.ML"];
    private static readonly string[] Words = ["diffusion", "transformer", "large language", "survey", "benchmark", "robot", "graph", "vision", "reasoning", "sparse"];
    private static readonly string[] People = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth"];

    private readonly FakeTimeProvider _time = new(Start);
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new(new()
    {
        ["Newsletter:Schedule:TimeZone"] = "UTC",
        ["Newsletter:Schedule:Digest"] = "0 0 7 * * ?",
        ["Newsletter:MaxEntriesPerIssue"] = "100", // the most allowed: no paper is pushed into the compact list
    });
    private FixtureServer _feeds = null!;

    public async ValueTask InitializeAsync() => _feeds = await FixtureServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
        await _feeds.DisposeAsync();
    }

    /// <summary>A paper as the feeds tell it; <see cref="HfDays"/> are the days Hugging Face lists it.</summary>
    private sealed record Paper(string Id, string Title, string Summary, string[] Authors, string[] Categories, int Upvotes, int? ArxivDay, int[] HfDays);

    private sealed record Reader(string Email, string Zone, PreferenceInput Input, Preferences Preferences, DateTimeOffset Joined, DateTimeOffset? Left);

    [Fact]
    public async Task EveryReaderGetsExactlyTheMatchingPapersOnceAtTheirHourOnTheirDays()
    {
        var papers = Generate();
        _host.UseSmtp(_smtp.Port, maxConnections: 2);
        _host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url("/hf")), ("arxiv-cs", "Rss", _feeds.Url("/rss")));
        _host.Set("Newsletter:ArxivApiUrl", _feeds.Url("/api/query"));
        var app = _host.Build(["run"], _time);
        await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
        var store = app.Services.GetRequiredService<SubscriberStore>();
        var collector = app.Services.GetRequiredService<Collector>();
        var digest = app.Services.GetRequiredService<DailyDigest>();

        var readers = Readers();
        var joiner = readers[^1] with { Joined = Start.AddDays(4).AddHours(13) };
        var leaver = readers[7] with { Left = Start.AddDays(8).AddHours(12) };
        readers[^1] = joiner;
        readers[7] = leaver;
        foreach (var reader in readers.Where(r => r != joiner))
            await store.AddAsync(EmailAddress.TryParse(reader.Email, out var a, out _) ? a! : throw new InvalidOperationException(), true, reader.Input, CancellationToken.None);

        // The clock runs in quarter hours; sources are collected at 01:00 UTC, the poll runs every step.
        var collects = new List<(DateTimeOffset At, int Day)>();
        for (var now = Start; now < Start.AddDays(Days); now = now.AddMinutes(15))
        {
            _time.SetUtcNow(now);
            if (now == joiner.Joined)
                await store.AddAsync(EmailAddress.TryParse(joiner.Email, out var a, out _) ? a! : throw new InvalidOperationException(), true, joiner.Input, CancellationToken.None);
            if (now == leaver.Left)
                await store.UnsubscribeAsync((await store.FindAsync(EmailAddress.TryParse(leaver.Email, out var l, out _) ? l! : throw new InvalidOperationException(), CancellationToken.None))!.Id, CancellationToken.None);
            if (now.Hour == 1 && now.Minute == 0)
            {
                var day = (int)(now - Start).TotalDays;
                Serve(papers, day);
                await collector.CollectAsync(CancellationToken.None);
                collects.Add((now, day));
            }
            await digest.RunAsync(null, null, CancellationToken.None);
        }

        // What each reader got: the papers (by arXiv id) of each mail, and when it was composed.
        var table = new StringBuilder();
        table.AppendLine($"{"reader",-28} {"zone",-18} {"digests",7} {"papers",6} {"misses",6} {"extra",5} {"dups",4} {"late",4} {"empty",5}  preferences");
        var problems = new List<string>();
        int totalDigests = 0, totalPapers = 0;
        foreach (var reader in readers)
        {
            var mails = _smtp.To(reader.Email).OrderBy(m => m.Date).ToList();
            var received = mails.SelectMany(m => Regex.Matches(m.TextBody!, @"https://arxiv\.org/abs/(\S+)").Select(x => x.Groups[1].Value)).ToList();
            var expected = Expected(reader, papers, collects, out var sendTimes);
            var misses = expected.Except(received).ToList();
            var extra = received.Except(expected).ToList();
            var duplicates = received.Count - received.Distinct().Count();
            var zone = TimeZoneInfo.FindSystemTimeZoneById(reader.Zone);
            var late = mails.Count(m => !sendTimes.Contains(m.Date));
            var empty = mails.Count(m => !Regex.IsMatch(m.TextBody!, @"https://arxiv\.org/abs/"));
            totalDigests += mails.Count;
            totalPapers += received.Count;
            table.AppendLine($"{reader.Email,-28} {reader.Zone,-18} {mails.Count,7} {received.Count,6} {misses.Count,6} {extra.Count,5} {duplicates,4} {late,4} {empty,5}  {Newsletter.Cli.SubscriberCommands.Describe(reader.Preferences)}");
            if (misses.Count + extra.Count + duplicates + late + empty > 0)
                problems.Add($"{reader.Email}: missing {string.Join(",", misses)}; extra {string.Join(",", extra)}; {duplicates} duplicates; {late} at the wrong time ({string.Join(", ", mails.Where(m => !sendTimes.Contains(m.Date)).Select(m => TimeZoneInfo.ConvertTime(m.Date, zone).ToString("ddd yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)))}); {empty} empty");
        }
        table.AppendLine($"{readers.Count} readers, {totalDigests} digests, {totalPapers} papers delivered, {papers.Count} papers collected");
        output.WriteLine(table.ToString());

        Assert.Empty(problems);
        Assert.True(totalDigests > 250, $"only {totalDigests} digests");
        // Nothing matched or nothing new: no mail, and the ledger says why.
        Assert.True(await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM digest_skips WHERE reason LIKE 'no new papers%'") > 0);
        Assert.True(await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM digest_skips WHERE reason LIKE 'none of the % new papers matched%'") > 0);
        // Readers with the same content share one frozen digest.
        Assert.True(await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM digests") < await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries"));
        // A keyword reader's mail says why each paper is there.
        var keywordMail = _smtp.To("r03@example.org").First();
        Assert.Contains("matches \u201cdiffusion\u201d", keywordMail.TextBody);
        Assert.Contains("matches \u201cdiffusion\u201d", keywordMail.HtmlBody);
    }

    /// <summary>The readers: every filter kind, both cadences, several day sets, 6 zones and varied hours (one in Sydney's skipped hour).</summary>
    private static List<Reader> Readers()
    {
        var filters = new PreferenceInput[]
        {
            new(),
            new() { Topics = ["cs.CV"] },
            new() { Topics = ["cs.LG", "cs.CL"] },
            new() { Keywords = ["diffusion"] },
            new() { Keywords = ["large language"], Exclude = ["survey"] },
            new() { Exclude = ["survey", "benchmark"] },
            new() { Authors = ["Ada Lovelace"] },
            new() { MinScore = "20" },
            new() { Topics = ["hf"] },
            new() { Topics = ["stat"], Keywords = ["graph", "sparse"] },
            new() { Topics = ["cs.CV"], Authors = ["Grace Hopper"], MinScore = "10" },
            new() { Keywords = ["quantum"] }, // nothing ever matches: never a mail, and the ledger says why
        };
        var when = new PreferenceInput[]
        {
            new(),
            new() { Weekdays = ["Mon-Fri"] },
            new() { Weekdays = ["Mon,Wed,Fri"] },
            new() { Cadence = "weekly", WeeklyDay = "Sun" },
            new() { Weekdays = ["Sat-Sun"] },
            new() { Cadence = "weekly", WeeklyDay = "Wed" },
        };
        var readers = new List<Reader>();
        for (var i = 0; i < 50; i++)
        {
            var zone = Zones[i % Zones.Length];
            var f = filters[i % filters.Length];
            var w = when[i / 3 % when.Length];
            // Reader 0 and every 11th choose nothing at all: they are served at Schedule:Digest, as before.
            var input = i % 11 == 0
                ? f
                : Merge(f, w) with { TimeZone = zone, SendHour = (i % 4 == 0 ? 2 : 5 + i % 12).ToString(CultureInfo.InvariantCulture) };
            if (i % 11 == 0) zone = "UTC";
            PreferenceParser.TryApply(Preferences.None, input, out var preferences, out var problems);
            Assert.Empty(problems);
            readers.Add(new Reader($"r{i:00}@example.org", zone, input, preferences, Start, null));
        }
        return readers;
    }

    private static PreferenceInput Merge(PreferenceInput what, PreferenceInput when) => what with { Weekdays = when.Weekdays, Cadence = when.Cadence, WeeklyDay = when.WeeklyDay };

    /// <summary>Deterministic feeds: 12 arXiv papers each weekday (2 earlier ones again as v2), Hugging Face listing new, same-day, next-day and re-trending papers; nothing new at the weekend.</summary>
    private static List<Paper> Generate()
    {
        var random = new Random(13);
        var papers = new List<Paper>();
        Paper Make(string id, int? arxivDay, int[] hfDays)
        {
            var words = Words.OrderBy(_ => random.Next()).Take(2).ToArray();
            var title = $"On {words[0]} for {random.Next(1000)} tasks";
            var summary = $"We study {words[1]} and show {random.Next(100)} results. Unrelated: diffusions, surveyed, benchmarking.";
            var authors = People.OrderBy(_ => random.Next()).Take(2).ToArray();
            var categories = Categories.OrderBy(_ => random.Next()).Take(1 + random.Next(2)).ToArray();
            return new Paper(id, title, summary, authors, categories, hfDays.Length == 0 ? 0 : 1 + random.Next(60), arxivDay, hfDays);
        }
        for (var day = 0; day < Days; day++)
        {
            if (Start.AddDays(day).DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
                continue;
            for (var i = 0; i < 12; i++)
            {
                // Some arXiv papers trend on Hugging Face the same day, some a day or two later.
                int[] hf = i switch { 0 => [day], 1 => [day + 1], 2 => [day, day + 2], _ => [] };
                papers.Add(Make($"2510.{day * 100 + i + 10000}", day, hf));
            }
            for (var i = 0; i < 4; i++)
                papers.Add(Make($"2509.{day * 10 + i + 50000}", null, i == 0 ? [day, day + 1, day + 3] : [day]));
        }
        return papers;
    }

    /// <summary>The feeds of one day: today's RSS (with v2 of two earlier papers), HF's list, and the arXiv API knowing every paper.</summary>
    private void Serve(List<Paper> papers, int day)
    {
        var weekend = Start.AddDays(day).DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
        var rss = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" version="2.0"><channel><title>cs updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs</link><description>cs</description>""");
        var today = papers.Where(p => p.ArxivDay == day).ToList();
        var revised = weekend ? [] : papers.Where(p => p.ArxivDay is { } d && d < day).Take(2).ToList();
        foreach (var (paper, version, type) in today.Select(p => (p, 1, "new")).Concat(revised.Select(p => (p, 2, "replace"))))
        {
            rss.Append($"<item><title>{WebUtility.HtmlEncode(paper.Title)}</title><link>https://arxiv.org/abs/{paper.Id}</link>");
            rss.Append($"<description>arXiv:{paper.Id}v{version} Announce Type: {type} \nAbstract: {WebUtility.HtmlEncode(paper.Summary)}</description>");
            rss.Append($"<guid isPermaLink=\"false\">oai:arXiv.org:{paper.Id}v{version}</guid>");
            foreach (var category in paper.Categories)
                rss.Append($"<category>{category}</category>");
            rss.Append($"<dc:creator>{string.Join(", ", paper.Authors)}</dc:creator></item>");
        }
        rss.Append("</channel></rss>");
        _feeds.Files["/rss"] = Encoding.UTF8.GetBytes(rss.ToString());

        // At the weekend Hugging Face shows Friday's list again: papers trending again, none new.
        var hfDay = weekend ? Enumerable.Range(0, day).Last(d => Start.AddDays(d).DayOfWeek == DayOfWeek.Friday) : day;
        var hf = papers.Where(p => p.HfDays.Contains(hfDay)).Select(p => new
        {
            paper = new { id = p.Id, title = p.Title, summary = p.Summary, upvotes = p.Upvotes, authors = p.Authors.Select(a => new { name = a }).ToArray() },
            publishedAt = Start.AddDays(day).ToString("O", CultureInfo.InvariantCulture),
        });
        _feeds.Files["/hf"] = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(hf);

        var api = new StringBuilder("""<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>http://arxiv.org/api/fortnight</id><title>ArXiv Query</title><updated>2025-10-01T00:00:00Z</updated>""");
        foreach (var paper in papers)
        {
            api.Append($"<entry><id>http://arxiv.org/abs/{paper.Id}v1</id><updated>2025-10-01T00:00:00Z</updated><title>{WebUtility.HtmlEncode(paper.Title)}</title>");
            foreach (var category in paper.Categories)
                api.Append($"<category term=\"{category}\" scheme=\"http://arxiv.org/schemas/atom\"/>");
            api.Append("</entry>");
        }
        api.Append("</feed>");
        _feeds.Files["/api/query"] = Encoding.UTF8.GetBytes(api.ToString());
    }

    /// <summary>
    /// The model: the reader's send instants (their local hour on their days, or 07:00 UTC for
    /// readers who chose nothing; a skipped hour moves to the end of the gap), and for each, the
    /// papers first collected since the previous one that match, as the paper stood at that time,
    /// and for a reader with a minimum score the recent papers whose score rose since the previous one.
    /// </summary>
    private static List<string> Expected(Reader reader, List<Paper> papers, List<(DateTimeOffset At, int Day)> collects, out HashSet<DateTimeOffset> sendTimes)
    {
        var p = reader.Preferences;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(p.TimeZone ?? "UTC");
        var hour = p.SendHour ?? 7;
        var sends = new List<DateTimeOffset>();
        for (var date = DateOnly.FromDateTime(Start.UtcDateTime).AddDays(-1); date <= DateOnly.FromDateTime(Start.UtcDateTime).AddDays(Days + 1); date = date.AddDays(1))
        {
            var wanted = p.Cadence == Cadence.Weekly ? date.DayOfWeek == p.EffectiveWeeklyDay : p.Days is not { } days || days.Contains(date.DayOfWeek);
            if (!wanted)
                continue;
            var local = date.ToDateTime(new TimeOnly(hour, 0));
            while (zone.IsInvalidTime(local))
                local = local.AddMinutes(1);
            var at = new DateTimeOffset(local, zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local));
            if (at > reader.Joined && at < Start.AddDays(Days) && (reader.Left is not { } left || at < left))
                sends.Add(at);
        }
        // Collected (first seen) at the first collect that listed the paper anywhere.
        DateTimeOffset? FirstSeen(Paper paper) => collects
            .Where(c => paper.ArxivDay == c.Day || paper.HfDays.Contains(HfDayOf(c.Day)))
            .Select(c => (DateTimeOffset?)c.At).FirstOrDefault();
        // A score raised by a later sighting: first listed by arXiv alone (score 0), then by Hugging Face.
        DateTimeOffset? Raised(Paper paper) => collects
            .Where(c => paper.HfDays.Contains(HfDayOf(c.Day)))
            .Select(c => (DateTimeOffset?)c.At).FirstOrDefault() is { } listed && listed > FirstSeen(paper) ? listed : null;
        var expected = new List<string>();
        sendTimes = [];
        // The contract: a new reader's first digest reaches back Subscriptions:NewReaderLookback (default one day) before joining.
        var previous = reader.Joined - TimeSpan.FromDays(1);
        foreach (var send in sends)
        {
            var seenBefore = collects.Where(c => c.At <= send).ToList();
            var window = papers.Where(x => FirstSeen(x) is { } seen && seen > previous && seen <= send).ToList();
            var matching = window.Where(x => Matches(p, x, seenBefore)).Select(x => x.Id).ToList();
            // A paper judged at an earlier send (not the reader's first) whose score rose since, while
            // first seen within CarryOverMaxAge (3 days): judged again, if not sent before.
            if (p.MinScore is > 0 && previous > reader.Joined)
                matching.AddRange(papers.Where(x => FirstSeen(x) is { } seen && seen <= previous && seen > send.AddDays(-3)
                        && Raised(x) is { } raised && raised > previous && raised <= send
                        && !expected.Contains(x.Id) && Matches(p, x, seenBefore))
                    .Select(x => x.Id));
            if (matching.Count > 0)
                sendTimes.Add(send);
            expected.AddRange(matching);
            previous = send;
        }
        return expected;
    }

    private static int HfDayOf(int day) =>
        Start.AddDays(day).DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday
            ? Enumerable.Range(0, day).Last(d => Start.AddDays(d).DayOfWeek == DayOfWeek.Friday)
            : day;

    /// <summary>An independent reading of the contract's filter rules (tokens, not regular expressions).</summary>
    private static bool Matches(Preferences p, Paper paper, List<(DateTimeOffset At, int Day)> collectsSoFar)
    {
        var onHf = collectsSoFar.Any(c => paper.HfDays.Contains(HfDayOf(c.Day)));
        var onArxiv = collectsSoFar.Any(c => paper.ArxivDay == c.Day);
        var score = onHf ? paper.Upvotes : 0;
        var sources = new List<string>();
        if (onHf) sources.Add("hf");
        if (onArxiv) sources.Add("arxiv-cs");
        string[] Tokens(string text) => Regex.Split(text.ToLowerInvariant(), @"[^\p{L}\p{N}_]+").Where(t => t.Length > 0).ToArray();
        var tokens = Tokens(paper.Title + " | " + paper.Summary);
        bool Has(string phrase)
        {
            var words = Tokens(phrase);
            return Enumerable.Range(0, tokens.Length - words.Length + 1).Any(i => words.Select((w, j) => tokens[i + j] == w).All(x => x));
        }
        var byAuthor = paper.Authors.Any(a => p.Authors.Any(f => string.Equals(f, a, StringComparison.OrdinalIgnoreCase)));
        var topicOk = p.Topics.Count == 0 || p.Topics.Any(t => paper.Categories.Any(c => c.Equals(t, StringComparison.OrdinalIgnoreCase) || c.StartsWith(t + ".", StringComparison.OrdinalIgnoreCase)) || sources.Contains(t));
        var keywordOk = p.Keywords.Count == 0 || p.Keywords.Any(Has);
        var interest = p.Topics.Count > 0 || p.Keywords.Count > 0 ? topicOk && keywordOk : p.Authors.Count == 0;
        if (!byAuthor && !interest) return false;
        if (p.Exclude.Any(Has)) return false;
        return byAuthor || p.MinScore is not { } min || score >= min;
    }
}
