using System.Data.Common;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;
using Newsletter.Scheduling;
using Newsletter.Sources;
using Newsletter.Storage;
using Newsletter.Subscriptions;
using Quartz;

namespace Newsletter.Issues;

/// <summary>
/// What one compose did, over every date it served: <paramref name="Entries"/> distinct papers went
/// into digests, <paramref name="InFull"/> of them shown in full (the rest under "More papers");
/// <paramref name="Carried"/> matched but had no room and wait for the reader's next digest;
/// <paramref name="LeftOut"/> had waited longer than <c>CarryOverMaxAge</c> and will not be sent.
/// </summary>
public sealed record ComposeResult(ComposeOutcome Outcome, DateOnly Date, long? IssueId, int Entries, int Deliveries,
    int Groups = 0, int NothingNew = 0, int InFull = 0, int Carried = 0, int LeftOut = 0);

public enum ComposeOutcome { Composed, AlreadyComposed, NoEntries }

/// <summary>
/// Composes personal digests: for every reader who is due, the papers collected since they were
/// last served that match what they asked for, ranked and capped, frozen once per group of
/// readers with the same content, with one ledger row per reader.
/// </summary>
/// <remarks>
/// Each reader has a cursor, <c>served_until</c>: the collection time up to which they have been
/// served (at first, when they subscribed). A digest takes the papers first seen after the cursor
/// and moves it to the compose time, so successive digests of one reader cover disjoint stretches
/// of collection time: a paper (one row per canonical id, so a v2 or a re-trending paper is the
/// same row) reaches a reader at most once, whatever the cadence, the days or the dates asked for.
/// A digest shows the best <c>MaxEntriesPerIssue</c> in full and the next <c>MaxMoreEntriesPerIssue</c>
/// as a compact list; matching papers past both are stored with the digest (not shown) and offered
/// again in the reader's next digest, until they are older than <c>CarryOverMaxAge</c>, when they are
/// left out and counted.
/// A reader for whom nothing matched gets no mail: a <c>digest_skips</c> row says why, and marks the
/// date as done for them. Readers whose papers come out the same share one frozen digest (and
/// so one render in the dispatcher); their ledger rows are inserted together, so a claim in id
/// order meets one group after another.
/// </remarks>
public sealed class DigestComposer(
    Database database,
    IssueStore issues,
    TimeProvider time,
    IOptions<NewsletterOptions> options,
    IOptions<ScheduleOptions> schedule,
    IOptions<DeliveryOptions> delivery)
{
    /// <summary>A reader who was away longer than this gets the best of this stretch, not of all time.</summary>
    public static readonly TimeSpan LongestWindow = TimeSpan.FromDays(8);

    private const int Chunk = 500;

    private const string ReadersSql = """
        SELECT id AS Id, COALESCE(served_until, created_at) AS ServedUntil, last_digest_id AS LastDigestId,
               topics AS Topics, keywords AS Keywords, exclude_keywords AS ExcludeKeywords, authors AS Authors, min_score AS MinScore,
               time_zone AS TimeZone, send_hour AS SendHour, weekdays AS Weekdays, cadence AS Cadence, weekly_day AS WeeklyDay
        FROM subscribers WHERE status = 'active' AND paused = 0 ORDER BY id
        """;

    private const string ServedOnSql = """
        SELECT d.subscriber_id FROM deliveries d JOIN issues i ON i.id = d.issue_id WHERE i.issue_date = @date
        UNION SELECT subscriber_id FROM digest_skips WHERE issue_date = @date
        """;

    private const string WindowEntriesSql = """
        SELECT id AS Id, title AS Title, summary AS Summary, authors AS Authors, url AS Url, score AS Score,
               published_at AS PublishedAt, source AS Source, categories AS Categories, first_seen_at AS FirstSeenAt
        FROM entries WHERE first_seen_at > @from AND first_seen_at <= @to
        """;

    private const string CarriedSql = "SELECT entry_id FROM digest_entries WHERE digest_id = @id AND compact = 2";

    private const string PapersByIdSql = """
        SELECT id AS Id, title AS Title, summary AS Summary, authors AS Authors, url AS Url, score AS Score,
               published_at AS PublishedAt, source AS Source, categories AS Categories, first_seen_at AS FirstSeenAt
        FROM entries WHERE id IN @ids
        """;

    private const string SourcesByIdSql = "SELECT entry_id AS EntryId, source AS Source FROM entry_sources WHERE entry_id IN @ids";

    private const string WindowSourcesSql = """
        SELECT s.entry_id AS EntryId, s.source AS Source FROM entry_sources s JOIN entries e ON e.id = s.entry_id
        WHERE e.first_seen_at > @from AND e.first_seen_at <= @to
        """;

    private const string InsertDigestSql = """
        INSERT INTO digests (issue_id, cadence, window_start, window_end, created_at) VALUES (@issueId, @cadence, @windowStart, @windowEnd, @now)
        RETURNING id
        """;

    private const string InsertDigestEntrySql = "INSERT INTO digest_entries (digest_id, position, entry_id, why, compact) VALUES (@digestId, @position, @entryId, @why, @compact)";

    // The Message-ID is fixed here, before any attempt, so every resend carries the same one. It
    // is random (no subscriber or issue id in it: those would tell anyone the list's size).
    // 24 random hex digits per row: SQLite's randomblob; on PostgreSQL gen_random_uuid (core since
    // 13, a strong random source), whose hex digits are taken the same length (as IssueStore on main did).
    private const string FanOutSqlTemplate = """
        INSERT INTO deliveries (issue_id, subscriber_id, message_id, status, next_attempt_at, created_at, digest_id)
        SELECT @issueId, id, '<digest.' || @compactDate || '.' || {random} || '@' || @domain || '>', 'pending', @now, @now, @digestId
        FROM subscribers WHERE id IN @ids ORDER BY id
        """;

    private static readonly string SqliteFanOutSql = FanOutSqlTemplate.Replace("{random}", "lower(hex(randomblob(12)))", StringComparison.Ordinal);

    private static readonly string PostgresFanOutSql = FanOutSqlTemplate.Replace("{random}", "substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)", StringComparison.Ordinal);

    private const string SkipSql = """
        INSERT INTO digest_skips (issue_date, subscriber_id, reason, created_at)
        SELECT @date, id, @reason, @now FROM subscribers WHERE id IN @ids
        """;

    private const string AdvanceSql = "UPDATE subscribers SET served_until = @until, last_digest_id = @digestId WHERE id IN @ids";

    /// <summary>
    /// With a date (<c>send-now --date</c>): every active reader whose days include it, whatever
    /// their hour. Without: every reader whose local send time has come (and is younger than
    /// <c>Delivery:MaxAge</c>) and who has not been served that local date.
    /// </summary>
    public async Task<ComposeResult> ComposeAsync(DateOnly? date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // An immediate (write) transaction: two composers serialise here, and a collect that
        // commits after us has first-seen times after ours (EntryStore takes its time inside its
        // transaction), so no paper falls between two windows.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // PostgreSQL: the same two locks as a second composer and as EntryStore take, so the
        // commit-order argument above holds there too (entries' lock second, as nobody takes it first).
        await database.SerializeAsync(connection, transaction, "compose issue");
        await database.SerializeAsync(connection, transaction, EntryStore.WriteLockName);
        var now = time.GetUtcNow();
        var nowDb = DbTime.ToDb(now);
        var clock = new ReaderClock(schedule.Value, delivery.Value.MaxAge, now);

        var parsed = new Dictionary<string, Preferences>(StringComparer.Ordinal);
        var due = new Dictionary<DateOnly, List<DueReader>>();
        await foreach (var row in connection.QueryUnbufferedAsync<ReaderRow>(ReadersSql, transaction: transaction).WithCancellation(cancellationToken))
        {
            var key = row.Key();
            if (!parsed.TryGetValue(key, out var preferences))
                parsed[key] = preferences = row.ToPreferences();
            if ((date ?? clock.DueDate(preferences)) is not { } readerDate || !preferences.WantsDigestOn(readerDate))
                continue;
            if (!due.TryGetValue(readerDate, out var list))
                due[readerDate] = list = [];
            list.Add(new DueReader(row.Id, row.ServedUntil, row.LastDigestId, preferences));
        }
        if (date is { } forced && !due.ContainsKey(forced))
            due[forced] = [];

        var total = new Totals();
        var windowFloor = nowDb - (long)LongestWindow.TotalMilliseconds;
        foreach (var (readerDate, readers) in due.OrderBy(d => d.Key))
        {
            var served = (await connection.QueryAsync<long>(ServedOnSql, new { date = Text(readerDate) }, transaction)).ToHashSet();
            var pending = readers.Where(r => !served.Contains(r.Id)).ToList();
            total.AlreadyServed += served.Count;
            if (pending.Count == 0)
                continue;
            var from = Math.Max(pending.Min(r => r.ServedUntil), windowFloor);
            var papers = await WindowAsync(connection, transaction, from, nowDb);
            await ComposeDateAsync(connection, transaction, readerDate, pending, papers, Math.Max(windowFloor, 0), nowDb, total, cancellationToken);
        }
        // send-now --date with nobody due still composes the issue itself (its own list, for previews and archives), as before.
        if (date is { } asked && total.Deliveries == 0 && total.AlreadyServed == 0
            && await issues.CreateAsync(connection, transaction, asked, now, onlyWithPapers: true) is { Id: { } created, Papers: { } count })
        {
            total.LastIssueId = created;
            total.IssueOnly = count;
        }
        await transaction.CommitAsync(cancellationToken);

        var lastDate = due.Count == 0 ? clock.Today : due.Keys.Max();
        total.Overflow.ExceptWith(total.Papers); // shown to one group and carried for another: counted as shown
        if (total.IssueOnly is { } issuePapers)
            return new ComposeResult(ComposeOutcome.Composed, lastDate, total.LastIssueId, issuePapers, 0, 0, total.NothingNew,
                Math.Min(issuePapers, options.Value.MaxEntriesPerIssue));
        var outcome = total.Deliveries > 0 ? ComposeOutcome.Composed
            : total.AlreadyServed > 0 && total.NothingNew == 0 ? ComposeOutcome.AlreadyComposed
            : ComposeOutcome.NoEntries;
        return new ComposeResult(outcome, lastDate, total.LastIssueId, total.Papers.Count, total.Deliveries, total.Groups, total.NothingNew,
            total.Full.Count, total.Overflow.Count, total.LeftOut.Count);
    }

    private async Task ComposeDateAsync(DbConnection connection, DbTransaction transaction, DateOnly date, List<DueReader> readers,
        IReadOnlyList<CandidatePaper> papers, long windowFloor, long now, Totals total, CancellationToken cancellationToken)
    {
        var inFull = options.Value.MaxEntriesPerIssue;
        var capacity = inFull + options.Value.MaxMoreEntriesPerIssue;
        var carryFloor = now - (long)options.Value.CarryOverMaxAge.TotalMilliseconds;
        var carried = await CarriedAsync(connection, transaction, readers.Select(r => r.LastDigestId).OfType<long>().Distinct());
        // Readers with the same preferences, cursor and previous digest get the same papers: filter once per such group.
        var groups = readers.GroupBy(r => (r.Preferences.ContentKey(), Math.Max(r.ServedUntil, windowFloor), r.Preferences.Cadence, r.LastDigestId));
        var digests = new Dictionary<string, Composed>(StringComparer.Ordinal);
        var empty = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (_, start, cadence, lastDigest) = group.Key;
            var filter = new PaperFilter(group.First().Preferences);
            var inWindow = 0;
            var chosen = new List<(CandidatePaper Paper, string Why)>();
            foreach (var paper in papers)
            {
                if (paper.FirstSeenAt <= start)
                    continue;
                inWindow++;
                if (filter.Matches(paper, out var why))
                    chosen.Add((paper, why));
            }
            // What the reader's previous digest had no room for comes again, while young enough.
            if (lastDigest is { } previous && carried.TryGetValue(previous, out var waiting))
                foreach (var paper in waiting.Where(w => chosen.All(c => c.Paper.Id != w.Id)))
                {
                    if (paper.FirstSeenAt <= carryFloor)
                        total.LeftOut.Add(paper.Id);
                    else if (filter.Matches(paper, out var why))
                        chosen.Add((paper, why));
                }
            if (chosen.Count == 0)
            {
                var reason = inWindow == 0
                    ? "no new papers since the last digest"
                    : $"none of the {inWindow} new papers matched the reader's preferences";
                if (!empty.TryGetValue(reason, out var ids))
                    empty[reason] = ids = [];
                ids.AddRange(group.Select(r => r.Id));
                continue;
            }
            var ranked = chosen.OrderByDescending(c => c.Paper.Score)
                .ThenByDescending(c => c.Paper.PublishedAt?.ToUnixTimeMilliseconds() ?? c.Paper.FirstSeenAt)
                .ThenBy(c => c.Paper.Id)
                .ToList();
            var cadenceText = cadence == Cadence.Weekly ? "weekly" : "daily";
            // Groups whose papers (and reasons) come out the same share one digest.
            var signature = cadenceText + "|" + string.Join('|', ranked.Select((r, i) => r.Paper.Id + ":" + r.Why + ":" + Compact(i, inFull, capacity)));
            if (!digests.TryGetValue(signature, out var composed))
                digests[signature] = composed = new Composed(cadenceText, start, ranked, []);
            composed.Readers.AddRange(group.Select(r => r.Id));
        }

        var dateText = Text(date);
        if (digests.Count > 0)
        {
            var issueId = (await issues.CreateAsync(connection, transaction, date, DbTime.FromDb(now))).Id!.Value;
            total.LastIssueId = issueId;
            var domain = options.Value.From.Address[(options.Value.From.Address.LastIndexOf('@') + 1)..];
            var compactDate = date.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            foreach (var composed in digests.Values)
            {
                var digestId = await connection.ExecuteScalarAsync<long>(InsertDigestSql,
                    new { issueId, cadence = composed.Cadence, windowStart = composed.WindowStart, windowEnd = now, now }, transaction);
                await connection.ExecuteAsync(InsertDigestEntrySql,
                    composed.Papers.Select((p, i) => new { digestId, position = i + 1, entryId = p.Paper.Id, why = p.Why, compact = Compact(i, inFull, capacity) }), transaction);
                composed.Readers.Sort();
                foreach (var ids in composed.Readers.Chunk(Chunk))
                {
                    total.Deliveries += await connection.ExecuteAsync(database.InList(database.Sql(SqliteFanOutSql, PostgresFanOutSql)), new { issueId, compactDate, domain, now, digestId, ids }, transaction);
                    await connection.ExecuteAsync(database.InList(AdvanceSql), new { until = now, digestId = (long?)digestId, ids }, transaction);
                }
                for (var i = 0; i < composed.Papers.Count; i++)
                {
                    var id = composed.Papers[i].Paper.Id;
                    (i < inFull ? total.Full : i < capacity ? total.Papers : total.Overflow).Add(id);
                    if (i < inFull)
                        total.Papers.Add(id);
                }
                total.Groups++;
            }
        }
        foreach (var (reason, ids) in empty)
        {
            foreach (var chunk in ids.Order().Chunk(Chunk))
            {
                total.NothingNew += await connection.ExecuteAsync(database.InList(SkipSql), new { date = dateText, reason, now, ids = chunk }, transaction);
                await connection.ExecuteAsync(database.InList(AdvanceSql), new { until = now, digestId = (long?)null, ids = chunk }, transaction);
            }
        }
    }

    /// <summary>0: shown in full, 1: under "More papers", 2: no room, carried to the reader's next digest.</summary>
    private static int Compact(int index, int inFull, int capacity) => index < inFull ? 0 : index < capacity ? 1 : 2;

    /// <summary>Per previous digest, the papers it had no room for.</summary>
    private async Task<Dictionary<long, List<CandidatePaper>>> CarriedAsync(DbConnection connection, DbTransaction transaction, IEnumerable<long> digestIds)
    {
        var carried = new Dictionary<long, List<CandidatePaper>>();
        foreach (var digestId in digestIds)
        {
            var ids = (await connection.QueryAsync<long>(CarriedSql, new { id = digestId }, transaction)).ToList();
            if (ids.Count == 0)
                continue;
            var list = new List<CandidatePaper>();
            foreach (var chunk in ids.Chunk(Chunk))
            {
                var sources = (await connection.QueryAsync<(long EntryId, string Source)>(database.InList(SourcesByIdSql), new { ids = chunk }, transaction)).ToLookup(s => s.EntryId, s => s.Source);
                list.AddRange((await connection.QueryAsync<PaperRow>(database.InList(PapersByIdSql), new { ids = chunk }, transaction)).Select(r => r.ToCandidate(sources[r.Id].ToList())));
            }
            carried[digestId] = list;
        }
        return carried;
    }

    /// <summary>The papers first seen in (<paramref name="from"/>, <paramref name="to"/>], with their sources.</summary>
    internal static async Task<IReadOnlyList<CandidatePaper>> WindowAsync(DbConnection connection, DbTransaction? transaction, long from, long to)
    {
        var sources = (await connection.QueryAsync<(long EntryId, string Source)>(WindowSourcesSql, new { from, to }, transaction))
            .ToLookup(s => s.EntryId, s => s.Source);
        var rows = await connection.QueryAsync<PaperRow>(WindowEntriesSql, new { from, to }, transaction);
        return rows.Select(r => r.ToCandidate(sources[r.Id].ToList())).ToList();
    }

    /// <summary>A digest for one reader as it would be composed now, without storing anything (previews).</summary>
    public async Task<Issue> DraftAsync(DateOnly date, long servedUntil, Preferences preferences, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var now = DbTime.ToDb(time.GetUtcNow());
        var from = Math.Max(servedUntil, now - (long)LongestWindow.TotalMilliseconds);
        var papers = await WindowAsync(connection, null, from, now);
        var filter = new PaperFilter(preferences);
        var inFull = options.Value.MaxEntriesPerIssue;
        var entries = papers.Select(p => (Paper: p, In: filter.Matches(p, out var why), Why: why)).Where(p => p.In)
            .OrderByDescending(c => c.Paper.Score)
            .ThenByDescending(c => c.Paper.PublishedAt?.ToUnixTimeMilliseconds() ?? c.Paper.FirstSeenAt)
            .ThenBy(c => c.Paper.Id)
            .Take(inFull + options.Value.MaxMoreEntriesPerIssue)
            .Select((c, i) => new IssueEntry(i + 1, c.Paper.Title, c.Paper.Summary, c.Paper.Authors, c.Paper.Url, c.Paper.Score, c.Paper.PublishedAt, c.Paper.Source, c.Why))
            .ToList();
        return new Issue(0, date, entries.Take(inFull).ToList(), preferences.Cadence == Cadence.Weekly ? "weekly" : "daily") { More = entries.Skip(inFull).ToList() };
    }

    private static string Text(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private sealed record DueReader(long Id, long ServedUntil, long? LastDigestId, Preferences Preferences);

    private sealed record Composed(string Cadence, long WindowStart, List<(CandidatePaper Paper, string Why)> Papers, List<long> Readers);

    private sealed class Totals
    {
        public int Deliveries, Groups, NothingNew, AlreadyServed;
        public long? LastIssueId;
        public int? IssueOnly;
        public readonly HashSet<long> Papers = [], Full = [], Overflow = [], LeftOut = [];
    }

    private sealed class ReaderRow
    {
        public long Id { get; init; }
        public long ServedUntil { get; init; }
        public long? LastDigestId { get; init; }
        public string Topics { get; init; } = "";
        public string Keywords { get; init; } = "";
        public string ExcludeKeywords { get; init; } = "";
        public string Authors { get; init; } = "";
        public long? MinScore { get; init; }
        public string? TimeZone { get; init; }
        public long? SendHour { get; init; }
        public long? Weekdays { get; init; }
        public string Cadence { get; init; } = "daily";
        public long? WeeklyDay { get; init; }

        /// <summary>The stored preferences as one text, so that 100,000 readers in a few groups parse a few times.</summary>
        public string Key() => string.Join('\u001f', Topics, Keywords, ExcludeKeywords, Authors, MinScore, TimeZone, SendHour, Weekdays, Cadence, WeeklyDay);

        public Preferences ToPreferences() => new PreferenceColumns
        {
            Topics = Topics, Keywords = Keywords, ExcludeKeywords = ExcludeKeywords, Authors = Authors, MinScore = MinScore,
            TimeZone = TimeZone, SendHour = SendHour, Weekdays = Weekdays, Cadence = Cadence, WeeklyDay = WeeklyDay,
        }.ToPreferences();
    }

    private sealed class PaperRow
    {
        public long Id { get; init; }
        public string Title { get; init; } = "";
        public string Summary { get; init; } = "";
        public string Authors { get; init; } = "";
        public string Url { get; init; } = "";
        public long Score { get; init; }
        public long? PublishedAt { get; init; }
        public string Source { get; init; } = "";
        public string Categories { get; init; } = "";
        public long FirstSeenAt { get; init; }

        public CandidatePaper ToCandidate(List<string> sources) => new(
            Id, Title, Summary,
            Authors.Length == 0 ? [] : Authors.Split(EntryStore.AuthorSeparator),
            Url, (int)Score, DbTime.FromDb(PublishedAt), Source,
            Categories.Length == 0 ? [] : Categories.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            sources.Count == 0 ? [Source] : sources,
            FirstSeenAt);
    }
}

/// <summary>
/// When a reader is due: at their local send hour (minute of <c>Schedule:Digest</c>) in their zone,
/// on their days. A reader who set none of zone, hour or days is due exactly when the
/// <c>Schedule:Digest</c> cron fires, as before preferences existed.
/// </summary>
public sealed class ReaderClock
{
    private readonly ScheduleOptions _schedule;
    private readonly TimeSpan _maxAge;
    private readonly DateTimeOffset _now;
    private readonly DateOnly? _cronDate;
    private readonly int _defaultHour;
    private readonly int _defaultMinute;
    private readonly Dictionary<(string, int), DateOnly[]> _passed = [];

    public ReaderClock(ScheduleOptions schedule, TimeSpan maxAge, DateTimeOffset now)
    {
        _schedule = schedule;
        _maxAge = maxAge;
        _now = now;
        var zone = schedule.Zone;
        Today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var cron = new CronExpression(schedule.Digest, zone);
        DateTimeOffset? latest = null;
        for (var next = cron.GetNextValidTimeAfter(now - maxAge); next is { } fire && fire <= now; next = cron.GetNextValidTimeAfter(fire))
            latest = fire;
        if (latest is { } fired)
            _cronDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(fired, zone).DateTime);
        // The hour and minute of the digest cron, read from its next firing (a cron may name several hours: the first one of a day is taken).
        var firstOfDay = cron.GetNextValidTimeAfter(new DateTimeOffset(TimeZoneInfo.ConvertTime(now, zone).Date, zone.GetUtcOffset(now)).AddMinutes(-1));
        var local = firstOfDay is { } f ? TimeZoneInfo.ConvertTime(f, zone) : new DateTimeOffset(2000, 1, 1, 7, 0, 0, TimeSpan.Zero);
        (_defaultHour, _defaultMinute) = (local.Hour, local.Minute);
    }

    /// <summary>Today in <c>Schedule:TimeZone</c>.</summary>
    public DateOnly Today { get; }

    public int DefaultHour => _defaultHour;

    /// <summary>The local date whose digest is due now for a reader with these preferences, if any.</summary>
    public DateOnly? DueDate(Preferences preferences)
    {
        if (preferences.TimeZone is null && preferences.SendHour is null && preferences.Days is null && preferences.Cadence == Cadence.Daily)
            return _cronDate;
        var key = (preferences.TimeZone ?? _schedule.TimeZone, preferences.SendHour ?? _defaultHour);
        if (!_passed.TryGetValue(key, out var dates))
            _passed[key] = dates = Passed(key.Item1, key.Item2);
        foreach (var date in dates)
            if (preferences.WantsDigestOn(date))
                return date;
        return null;
    }

    /// <summary>Of today and yesterday (local), the dates whose send time has passed within MaxAge, latest first.</summary>
    private DateOnly[] Passed(string zoneId, int hour)
    {
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var zone))
            zone = _schedule.Zone;
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(_now, zone).DateTime);
        return new[] { today, today.AddDays(-1) }
            .Where(date => SendInstant(zone, date, hour, _defaultMinute) is var due && due <= _now && _now - due <= _maxAge)
            .ToArray();
    }

    /// <summary>
    /// The instant of a local wall-clock time, DST-safe: a time the clocks skip is taken as the
    /// first instant after the gap; a time that happens twice, as its first occurrence.
    /// </summary>
    public static DateTimeOffset SendInstant(TimeZoneInfo zone, DateOnly date, int hour, int minute)
    {
        var local = date.ToDateTime(new TimeOnly(hour, minute));
        var guard = 0;
        while (zone.IsInvalidTime(local) && guard++ < 12 * 60)
            local = local.AddMinutes(1);
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
