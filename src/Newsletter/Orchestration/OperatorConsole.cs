using System.Globalization;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Sources;
using Newsletter.Storage;
using Newsletter.Subscriptions;
using Scriban.Runtime;

namespace Newsletter.Orchestration;

/// <summary>Everything the dashboard shows, read at one moment.</summary>
public sealed record DashboardData(
    DateTimeOffset At,
    IReadOnlyList<StatusDay> Statuses,
    IReadOnlyDictionary<string, long> CountsNow,
    IReadOnlyList<DayOutcomes> Outcomes,
    SendInProgress Send,
    IReadOnlyList<ClusterNode> Instances,
    IReadOnlyList<SourceHealth> Sources,
    IReadOnlyList<LedgerRefusal> Refusals,
    IReadOnlyList<Suspension> Suspensions,
    DateOnly Today,
    IReadOnlyList<ReaderSkip> SkipsToday,
    long SkipsTodayTotal);

/// <summary>
/// The operator's console (<c>/admin</c>): reads what the dashboard and the reader pages show from
/// the features' report stores, and turns it into the models of <c>pages/admin*.html.sbn</c>. The
/// models are built here, beside their samples, so that <c>templates check</c> renders the console's
/// templates with exactly what the pages get.
/// </summary>
public sealed class OperatorConsole(
    SubscriberReport readers,
    LedgerReport ledger,
    SourceHealthStore sources,
    ClusterNodes nodes,
    DailyDigest daily,
    IOptions<SourcesOptions> sourceOptions,
    TimeProvider time)
{
    public const string Layout = "admin-layout";
    public const string DashboardPage = "admin";
    public const string ReadersPage = "admin-readers";
    public const string ReaderPage = "admin-reader";

    /// <summary>The console's templates; start-up fails when one is missing, as for every page.</summary>
    public static readonly string[] Required = new[] { Layout, DashboardPage, ReadersPage, ReaderPage }.Select(p => $"pages/{p}.html.sbn").ToArray();

    public const int HistoryDays = 90;
    public const int OutcomeDays = 30;
    private const int ListLimit = 20;
    private const int SourceRunsShown = 5;
    public const int SearchLimit = 50;
    public const int ReaderLimit = 20;

    /// <summary>The actions of the reader page, as they appear in its form's URL.</summary>
    public static readonly string[] Actions = ["pause", "resume", "unsubscribe", "remove", "resend-confirmation", "send-test"];

    public async Task<DashboardData> DashboardAsync(CancellationToken cancellationToken)
    {
        var today = daily.Today();
        var skips = await readers.SkipsOnAsync(today, ListLimit * 5, cancellationToken);
        return new DashboardData(
            time.GetUtcNow(),
            await readers.StatusHistoryAsync(HistoryDays, cancellationToken),
            await readers.CountsAsync(cancellationToken),
            await ledger.OutcomesAsync(today.AddDays(1 - OutcomeDays), cancellationToken),
            await ledger.ProgressAsync(cancellationToken),
            await nodes.ListAsync(cancellationToken),
            await sources.ListAsync(sourceOptions.Value.Sources.Select(s => s.Name), SourceRunsShown, cancellationToken),
            await ledger.RecentRefusalsAsync(ListLimit, cancellationToken),
            await readers.SuspensionsAsync(ListLimit, cancellationToken),
            today,
            skips.Skips,
            skips.Total);
    }

    public Task<IReadOnlyList<Subscriber>> SearchAsync(string text, CancellationToken cancellationToken) => readers.SearchAsync(text, SearchLimit, cancellationToken);

    public Task<ReaderReport?> ReaderAsync(long id, CancellationToken cancellationToken) => readers.ReaderAsync(id, ReaderLimit, cancellationToken);

    /// <summary>Where a reader's page is.</summary>
    public static string ReaderUrl(long id) => "/admin/readers/" + id.ToString(CultureInfo.InvariantCulture);

    // ---- models (what the templates get; templates/README.md lists them) ----

    public static ScriptObject DashboardModel(DashboardData data)
    {
        var days = data.Statuses.Select(d => Iso(d.Date)).ToList();
        var subscriberChart = SvgCharts.StackedBars($"Readers by status over the last {data.Statuses.Count} days", days,
        [
            new ChartSeries("active", Palette.Active, data.Statuses.Select(d => d.Active).ToList()),
            new ChartSeries("pending", Palette.Pending, data.Statuses.Select(d => d.Pending).ToList()),
            new ChartSeries("unsubscribed", Palette.Unsubscribed, data.Statuses.Select(d => d.Unsubscribed).ToList()),
            new ChartSeries("bounced", Palette.Bounced, data.Statuses.Select(d => d.Bounced).ToList()),
        ]);
        // One bar per calendar day, a day without an issue as a gap, up to today (or an issue composed ahead).
        var byDate = data.Outcomes.ToDictionary(d => d.Date, StringComparer.Ordinal);
        var lastDay = data.Outcomes.Select(d => DateOnly.TryParseExact(d.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : data.Today)
            .Append(data.Today).Max();
        var outcomeDays = Enumerable.Range(0, OutcomeDays).Select(i => Iso(lastDay.AddDays(i - OutcomeDays + 1))).ToList();
        List<long> Series(Func<DayOutcomes, long> value) => outcomeDays.Select(day => byDate.TryGetValue(day, out var d) ? value(d) : 0).ToList();
        var outcomeChart = SvgCharts.StackedBars($"Digests per issue day over the last {OutcomeDays} days", outcomeDays,
        [
            new ChartSeries("sent", Palette.Active, Series(d => d.Sent)),
            new ChartSeries("deferred", Palette.Pending, Series(d => d.Deferred)),
            new ChartSeries("bounced", Palette.Bounced, Series(d => d.Bounced)),
            new ChartSeries("expired", Palette.Unsubscribed, Series(d => d.Expired)),
        ]);
        var send = data.Send;
        var alive = data.Instances.ToDictionary(n => n.InstanceId, n => n);
        return new ScriptObject
        {
            ["generated_at"] = Time(data.At),
            ["today"] = Iso(data.Today),
            ["subscribers"] = new ScriptObject
            {
                ["chart"] = new TrustedHtml(subscriberChart),
                ["days"] = data.Statuses.Count,
                ["legend"] = Legend(("active", Palette.Active), ("pending", Palette.Pending), ("unsubscribed", Palette.Unsubscribed), ("bounced", Palette.Bounced)),
                ["now"] = new ScriptArray(new[] { "active", "paused", "pending", "unsubscribed", "bounced" }
                    .Select(status => new ScriptObject { ["status"] = status, ["count"] = data.CountsNow.GetValueOrDefault(status) })),
                ["total"] = data.CountsNow.Values.Sum(),
            },
            ["deliveries"] = new ScriptObject
            {
                ["chart"] = new TrustedHtml(outcomeChart),
                ["legend"] = Legend(("sent", Palette.Active), ("deferred", Palette.Pending), ("bounced", Palette.Bounced), ("expired", Palette.Unsubscribed)),
                ["empty"] = data.Outcomes.Count == 0,
                // The table lists the newest days first; the chart reads left to right.
                ["days"] = new ScriptArray(data.Outcomes.Reverse().Take(7).Select(d => new ScriptObject
                {
                    ["date"] = d.Date, ["sent"] = d.Sent, ["deferred"] = d.Deferred, ["bounced"] = d.Bounced,
                    ["expired"] = d.Expired, ["skipped"] = d.Skipped, ["waiting"] = d.Waiting, ["total"] = d.Total,
                })),
            },
            ["send"] = new ScriptObject
            {
                ["running"] = send.Running,
                ["issues"] = string.Join(", ", send.Dates),
                ["done"] = send.Done,
                ["total"] = send.Total,
                ["percent"] = send.Total == 0 ? 0 : (int)Math.Floor(100.0 * send.Done / send.Total),
                ["deferred"] = send.Deferred,
                ["rate"] = Rate(send.PerSecond),
                ["eta"] = send.Eta is { } eta ? Duration(eta) : send.Running ? "unknown (nothing sent in the last minute)" : "",
                ["senders"] = new ScriptArray(send.Senders.Select(s => new ScriptObject
                {
                    ["owner"] = s.Owner,
                    ["host"] = s.Host,
                    ["pid"] = s.Pid?.ToString(CultureInfo.InvariantCulture) ?? "",
                    ["heartbeat"] = s.HeartbeatAt is { } beat ? Ago(data.At - beat) : "",
                    ["holding"] = s.Holding,
                    ["sent"] = s.SentLastMinutes,
                    ["rate"] = Rate(s.PerSecond),
                })),
                ["instances"] = new ScriptArray(data.Instances.Select(n => new ScriptObject
                {
                    ["id"] = n.InstanceId, ["alive"] = n.Alive, ["checkin"] = Ago(data.At - n.LastCheckin),
                })),
            },
            ["sources"] = new ScriptArray(data.Sources.Select(s => new ScriptObject
            {
                ["name"] = s.Name,
                ["healthy"] = s.LastSuccessAt is not null && s.ConsecutiveFailures == 0,
                ["last_success"] = s.LastSuccessAt is { } at ? Time(at) : "never",
                ["last_error"] = s.ConsecutiveFailures > 0 ? s.LastError ?? "" : "",
                // Papers listed by its latest run that was read (a 304 lists none).
                ["papers"] = s.RecentRuns.FirstOrDefault(r => r.Outcome == CollectOutcome.Stored) is { } run ? run.Papers : 0,
            })),
            ["refusals"] = new ScriptArray(data.Refusals.Select(r => new ScriptObject
            {
                ["email"] = r.Email, ["url"] = ReaderUrl(r.SubscriberId), ["date"] = r.Date,
                ["kind"] = r.Permanent ? "bounced" : "deferred", ["attempts"] = r.Attempts, ["reason"] = r.Reason,
            })),
            ["suspensions"] = new ScriptArray(data.Suspensions.Select(s => new ScriptObject
            {
                ["email"] = s.Email, ["url"] = ReaderUrl(s.Id), ["reason"] = s.Reason, ["at"] = s.At is { } at ? Time(at) : "",
            })),
            ["skips"] = new ScriptObject
            {
                ["date"] = Iso(data.Today),
                ["total"] = data.SkipsTodayTotal,
                ["shown"] = data.SkipsToday.Count,
                ["readers"] = new ScriptArray(data.SkipsToday.Select(k => new ScriptObject
                {
                    ["email"] = k.Email, ["url"] = ReaderUrl(k.SubscriberId), ["reason"] = k.Reason, ["at"] = Time(k.At),
                })),
            },
        };
    }

    public static ScriptObject ReadersModel(string? query, IReadOnlyList<Subscriber>? found, string notice = "")
    {
        var results = found ?? [];
        return new ScriptObject
        {
            ["q"] = query ?? "",
            ["searched"] = found is not null,
            ["limit"] = SearchLimit,
            ["notice"] = notice,
            ["readers"] = new ScriptArray(results.Select(s => new ScriptObject
            {
                ["email"] = s.Email,
                ["url"] = ReaderUrl(s.Id),
                ["status"] = s.Status == SubscriberStatus.Active && s.IsPaused ? "paused" : s.Status,
                ["reason"] = s.StatusReason ?? "",
            })),
        };
    }

    /// <param name="notice">What the last action did (one sentence), or empty.</param>
    /// <param name="noticeOk">Whether it did what was asked (the page colours it).</param>
    public static ScriptObject ReaderModel(ReaderReport reader, string notice = "", bool noticeOk = true)
    {
        var s = reader.Subscriber;
        var p = s.Preferences;
        var active = s.Status == SubscriberStatus.Active;
        return new ScriptObject
        {
            ["id"] = s.Id,
            ["email"] = s.Email,
            ["url"] = ReaderUrl(s.Id),
            ["status"] = reader.StatusWord,
            ["status_reason"] = reader.StatusReason,
            ["joined"] = Time(DbTime.FromDb(s.CreatedAt)),
            ["confirmed"] = s.ConfirmedAt is { } confirmed ? Time(DbTime.FromDb(confirmed)) : "",
            ["unsubscribed"] = reader.UnsubscribedAt is { } left ? Time(left) : "",
            ["confirmation_sent"] = reader.ConfirmationSentAt is { } mailed ? Time(mailed) : "",
            ["hard_bounces"] = reader.HardBounces,
            ["suppression"] = reader.Suppression?.Describe() ?? "",
            ["cursor"] = Time(reader.ServedUntil),
            ["last_digest"] = reader.LastDigestId?.ToString(CultureInfo.InvariantCulture) ?? "",
            ["preferences"] = new ScriptArray(new (string Name, string Value)[]
            {
                ("topics", string.Join(", ", p.Topics)),
                ("keywords", PreferenceParser.JoinList(p.Keywords, quotePhrases: true)),
                ("exclude", PreferenceParser.JoinList(p.Exclude, quotePhrases: true)),
                ("authors", PreferenceParser.JoinList(p.Authors)),
                ("min score", p.MinScore?.ToString(CultureInfo.InvariantCulture) ?? ""),
                ("when", p.Cadence == Cadence.Weekly ? $"weekly on {Weekdays.Name(p.EffectiveWeeklyDay)}" : "daily" + (p.Days is { } days ? $" on {days}" : "")),
                ("send hour", p.SendHour is { } hour ? $"{hour:00}:00" : "default"),
                ("time zone", p.TimeZone ?? "default"),
            }.Select(row => new ScriptObject { ["name"] = row.Name, ["value"] = row.Value.Length > 0 ? row.Value : row.Name is "exclude" or "authors" ? "none" : "any" })),
            ["deliveries"] = new ScriptArray(reader.Deliveries.Select(d => new ScriptObject
            {
                ["date"] = d.Date,
                ["digest"] = d.DigestId is { } id ? "#" + id.ToString(CultureInfo.InvariantCulture) : "issue",
                ["cadence"] = d.Cadence,
                ["papers"] = d.Papers,
                ["status"] = d.Status == DeliveryStatus.Pending && d.Attempts > 0 ? "deferred" : d.Status,
                ["attempts"] = d.Attempts,
                ["sent"] = d.SentAt is { } at ? Time(at) : "",
                ["next_attempt"] = d.Status == DeliveryStatus.Pending ? Time(d.NextAttemptAt) : "",
                ["last_error"] = d.LastError ?? "",
                ["message_id"] = d.MessageId,
            })),
            ["skips"] = new ScriptArray(reader.Skips.Select(k => new ScriptObject { ["date"] = k.Date, ["reason"] = k.Reason, ["at"] = Time(k.At) })),
            ["can_pause"] = active && !s.IsPaused,
            ["can_resume"] = active && s.IsPaused,
            ["can_unsubscribe"] = s.Status != SubscriberStatus.Unsubscribed,
            ["can_resend"] = s.Status == SubscriberStatus.Pending,
            ["can_test"] = active && !s.IsPaused,
            ["notice"] = notice,
            ["notice_ok"] = noticeOk,
        };
    }

    /// <summary>Colours shared by the charts and their legends.</summary>
    private static class Palette
    {
        public const string Active = "#2e7d32", Pending = "#f9a825", Unsubscribed = "#8e8e93", Bounced = "#c62828";
    }

    private static ScriptArray Legend(params (string Name, string Color)[] items) =>
        new(items.Select(i => new ScriptObject { ["name"] = i.Name, ["color"] = i.Color }));

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";

    private static string Rate(double perSecond) => perSecond switch
    {
        <= 0 => "0/s",
        < 1 => (perSecond * 60).ToString("0.#", CultureInfo.InvariantCulture) + "/min",
        _ => perSecond.ToString("0.#", CultureInfo.InvariantCulture) + "/s",
    };

    private static string Duration(TimeSpan span) => span.TotalHours >= 1
        ? $"{(int)span.TotalHours} h {span.Minutes} min"
        : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes} min {span.Seconds} s" : $"{Math.Max(1, (int)span.TotalSeconds)} s";

    private static string Ago(TimeSpan span) => span < TimeSpan.Zero ? "just now" : Duration(span) + " ago";

    // ---- samples for templates check ----

    /// <summary>Each console page with sample data, in the variants that take both sides of its conditions.</summary>
    internal static IEnumerable<(string Page, ScriptObject Model)> Samples()
    {
        var at = new DateTimeOffset(2025, 9, 8, 9, 30, 0, TimeSpan.Zero);
        var today = new DateOnly(2025, 9, 8);
        var statuses = Enumerable.Range(0, HistoryDays).Select(i => new StatusDay(today.AddDays(i - HistoryDays + 1), 2, 40 + i, i / 10, i / 30)).ToList();
        var outcomes = new[] { new DayOutcomes("2025-09-07", 40, 1, 1, 0, 0, 0), new DayOutcomes("2025-09-08", 20, 2, 0, 1, 1, 18) };
        var send = new SendInProgress(["2025-09-08"], 22, 42, 2, 1.5, TimeSpan.FromSeconds(14),
            [new SenderShare("host/42/run", "host", 42, at.AddSeconds(-3), 8, 90, 1.5)]);
        var full = new DashboardData(at, statuses, new Dictionary<string, long> { ["active"] = 129, ["paused"] = 1, ["pending"] = 2, ["unsubscribed"] = 8, ["bounced"] = 2 },
            outcomes, send, [new ClusterNode("node-1", at.AddSeconds(-4), true), new ClusterNode("node-2", at.AddMinutes(-5), false)],
            [new SourceHealth("hf", at.AddHours(-1), null, null, 0, [new SourceRun(at.AddHours(-1), CollectOutcome.Stored, 25, 3, null)]),
             new SourceHealth("arxiv", at.AddDays(-2), at.AddHours(-1), "HTTP 503 from export.arxiv.org", 3, [new SourceRun(at.AddHours(-1), CollectOutcome.Failed, 0, 0, "HTTP 503 from export.arxiv.org")])],
            [new LedgerRefusal(7, "gone@example.org", "2025-09-08", "bounced", true, 1, "550 5.1.1 <gone@example.org>: user unknown"),
             new LedgerRefusal(8, "full@example.org", "2025-09-08", "pending", false, 2, "452 4.2.2 mailbox full")],
            [new Suspension(7, "gone@example.org", "550 5.1.1 user unknown", at)], today,
            [new ReaderSkip(9, "picky@example.org", "2025-09-08", "no paper matched their preferences", at)], 1);
        yield return (DashboardPage, DashboardModel(full));
        var empty = full with
        {
            Statuses = [], CountsNow = new Dictionary<string, long>(), Outcomes = [], Send = new SendInProgress([], 0, 0, 0, 0, null, []),
            Instances = [], Sources = [], Refusals = [], Suspensions = [], SkipsToday = [], SkipsTodayTotal = 0,
        };
        yield return (DashboardPage, DashboardModel(empty));

        var reader = new Subscriber(5, "reader@example.org", SubscriberStatus.Active, null, DbTime.ToDb(at.AddDays(-30)), DbTime.ToDb(at.AddDays(-30)), false,
            new Preferences { Topics = ["cs.LG"], Keywords = ["diffusion"], SendHour = 8, TimeZone = "Europe/Berlin" });
        yield return (ReadersPage, ReadersModel(null, null));
        yield return (ReadersPage, ReadersModel("reader", [reader], "Removed someone@example.org"));
        yield return (ReadersPage, ReadersModel("nobody", []));
        var report = new ReaderReport(reader, 0, at.AddHours(-2), 12, null, null,
            [new ReaderDelivery(31, "2025-09-08", 12, "daily", 5, DeliveryStatus.Sent, 1, null, at.AddHours(-2), at.AddHours(-2), at.AddHours(-2), "<digest.20250908.abc@example.org>"),
             new ReaderDelivery(30, "2025-09-07", 11, "daily", 4, DeliveryStatus.Pending, 2, "451 4.7.1 try again later", at.AddDays(-1), null, at.AddMinutes(10), "<digest.20250907.def@example.org>")],
            [new ReaderSkip(5, reader.Email, "2025-09-06", "no paper matched their preferences", at.AddDays(-2))]);
        yield return (ReaderPage, ReaderModel(report, "Paused reader@example.org.", noticeOk: true));
        var pending = report with { Subscriber = reader with { Status = SubscriberStatus.Pending, ConfirmedAt = null }, Deliveries = [], Skips = [], LastDigestId = null, ConfirmationSentAt = at };
        yield return (ReaderPage, ReaderModel(pending, "Cannot pause: it is pending.", noticeOk: false));
    }
}
