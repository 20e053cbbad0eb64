using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Sources;
using Newsletter.Storage;

namespace Newsletter.Issues;

public enum ComposeOutcome { Composed, AlreadyComposed, NoEntries }

/// <summary>
/// <paramref name="Entries"/> papers went into the issue: <paramref name="InFull"/> shown in full, the rest in
/// the compact "more papers" list; <paramref name="Carried"/> waited for the next issue (no room), and
/// <paramref name="LeftOut"/> had waited longer than <c>CarryOverMaxAge</c> and will not be sent.
/// </summary>
public sealed record ComposeResult(ComposeOutcome Outcome, DateOnly Date, long? IssueId, int Entries, int Deliveries,
    int InFull = 0, int Carried = 0, int LeftOut = 0);

/// <summary>Composing issues (entries frozen, one ledger row per active subscriber) and reading them back.</summary>
/// <remarks>
/// An issue takes the papers that are in no issue yet and were first seen within <c>CarryOverMaxAge</c>:
/// today's new ones and any an earlier issue had no room for. The best <c>MaxEntriesPerIssue</c> are shown
/// in full, the next <c>MaxMoreEntriesPerIssue</c> as a compact list; the rest wait for the next issue,
/// until they are older than <c>CarryOverMaxAge</c>, when they are left out and counted (never silently).
/// </remarks>
public sealed class IssueStore(Database database, TimeProvider time, IOptions<NewsletterOptions> options)
{
    private const string FindIssueSql = "SELECT id FROM issues WHERE issue_date = @date";

    private const string PreviousComposedAtSql = "SELECT MAX(composed_at) FROM issues";

    /// <summary>Waiting papers: in no issue yet, and young enough to be carried.</summary>
    private const string WaitingWhere = """
        e.first_seen_at > @windowStart
          AND NOT EXISTS (SELECT 1 FROM issue_entries ie WHERE ie.entry_id = e.id)
        """;

    // Score first, then recency; the id makes the order total so a rerun ranks identically.
    private const string RankEntriesSql = $"""
        SELECT e.id FROM entries e
        WHERE {WaitingWhere}
        ORDER BY e.score DESC, COALESCE(e.published_at, e.first_seen_at) DESC, e.id
        LIMIT @limit
        """;

    private const string CountWaitingSql = $"SELECT COUNT(*) FROM entries e WHERE {WaitingWhere}";

    /// <summary>Papers that aged out of the carry-over since the previous issue without ever being in one.</summary>
    private const string CountLeftOutSql = """
        SELECT COUNT(*) FROM entries e
        WHERE e.first_seen_at <= @windowStart AND e.first_seen_at > @previousWindowStart
          AND NOT EXISTS (SELECT 1 FROM issue_entries ie WHERE ie.entry_id = e.id)
        """;

    /// <summary>
    /// Up to which first-seen time aged-out papers have been counted: each is counted once, by the first
    /// compose (issue or not) after it aged out, not again on a later run or at the next issue.
    /// </summary>
    private const string LeftOutCountedKey = "issues.left_out_counted_until";

    private const string LeftOutCountedSql = "SELECT value FROM settings WHERE key = '" + LeftOutCountedKey + "'";

    private const string SaveLeftOutCountedSql = "INSERT INTO settings (key, value) VALUES ('" + LeftOutCountedKey + "', @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

    private const string InsertIssueSql = "INSERT INTO issues (issue_date, composed_at) VALUES (@date, @now) RETURNING id";

    private const string InsertIssueEntrySql = "INSERT INTO issue_entries (issue_id, position, entry_id, compact) VALUES (@issueId, @position, @entryId, @compact)";

    // The Message-ID is fixed here, before any attempt, so every resend carries the same one. It
    // is random (no subscriber or issue id in it: those would tell anyone the list's size).
    // SQLite's randomblob; a PostgreSQL port uses md5(random()::text || clock_timestamp()::text).
    private const string RandomHexSql = "lower(hex(randomblob(12)))";

    private const string FanOutSql = $"""
        INSERT INTO deliveries (issue_id, subscriber_id, message_id, status, next_attempt_at, created_at)
        SELECT @issueId, id, '<digest.' || @compactDate || '.' || {RandomHexSql} || '@' || @domain || '>', 'pending', @now, @now
        FROM subscribers WHERE status = 'active' AND paused = 0
        """;

    private const string LatestIssueSql = "SELECT id FROM issues ORDER BY issue_date DESC LIMIT 1";

    private const string IssueSql = "SELECT id AS Id, issue_date AS Date FROM issues WHERE id = @id";

    private const string IssueEntriesSql = """
        SELECT ie.position AS Position, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source, ie.compact AS Compact
        FROM issue_entries ie JOIN entries e ON e.id = ie.entry_id
        WHERE ie.issue_id = @id ORDER BY ie.position
        """;

    /// <summary>
    /// Composes the issue of <paramref name="date"/> in one transaction: the waiting papers, ranked and
    /// split into full and compact, and one pending delivery per active subscriber. A date that already
    /// has an issue, or a day with nothing waiting, composes nothing.
    /// </summary>
    public async Task<ComposeResult> ComposeAsync(DateOnly date, CancellationToken cancellationToken)
    {
        var dateText = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await using var connection = await database.OpenAsync(cancellationToken);
        // Two composers racing for one date (send-now beside the job, or instances starting at
        // once) serialise here: an IMMEDIATE transaction on SQLite, an advisory lock on PostgreSQL.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await database.SerializeAsync(connection, transaction, "compose issue");
        if (await connection.ExecuteScalarAsync<long?>(FindIssueSql, new { date = dateText }, transaction) is { } existing)
            return new ComposeResult(ComposeOutcome.AlreadyComposed, date, existing, 0, 0);

        var now = time.GetUtcNow();
        var window = Window(now, await connection.ExecuteScalarAsync<long?>(PreviousComposedAtSql, transaction: transaction));
        var entryIds = (await connection.QueryAsync<long>(RankEntriesSql, new { window.windowStart, limit = Capacity }, transaction)).ToList();
        var waiting = await connection.ExecuteScalarAsync<long>(CountWaitingSql, new { window.windowStart }, transaction);
        var countedUntil = await connection.ExecuteScalarAsync<string?>(LeftOutCountedSql, transaction: transaction) is { } stored
            ? Math.Max(long.Parse(stored, CultureInfo.InvariantCulture), window.previousWindowStart) : window.previousWindowStart;
        var leftOut = countedUntil >= window.windowStart ? 0
            : await connection.ExecuteScalarAsync<long>(CountLeftOutSql, new { window.windowStart, previousWindowStart = countedUntil }, transaction);
        if (window.windowStart > countedUntil)
            await connection.ExecuteAsync(SaveLeftOutCountedSql, new { value = window.windowStart.ToString(CultureInfo.InvariantCulture) }, transaction);
        if (entryIds.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return new ComposeResult(ComposeOutcome.NoEntries, date, null, 0, 0, LeftOut: (int)leftOut);
        }

        var nowDb = DbTime.ToDb(now);
        var issueId = await connection.ExecuteScalarAsync<long>(InsertIssueSql, new { date = dateText, now = nowDb }, transaction);
        var inFull = options.Value.MaxEntriesPerIssue;
        await connection.ExecuteAsync(InsertIssueEntrySql,
            entryIds.Select((entryId, index) => new { issueId, position = index + 1, entryId, compact = index >= inFull ? 1 : 0 }), transaction);
        var domain = options.Value.From.Address[(options.Value.From.Address.LastIndexOf('@') + 1)..];
        var deliveries = await connection.ExecuteAsync(FanOutSql,
            new { issueId, compactDate = date.ToString("yyyyMMdd", CultureInfo.InvariantCulture), domain, now = nowDb }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return new ComposeResult(ComposeOutcome.Composed, date, issueId, entryIds.Count, deliveries,
            Math.Min(inFull, entryIds.Count), (int)(waiting - entryIds.Count), (int)leftOut);
    }

    /// <summary>Full plus compact: how many papers one issue holds.</summary>
    private int Capacity => options.Value.MaxEntriesPerIssue + options.Value.MaxMoreEntriesPerIssue;

    /// <summary>
    /// Papers first seen after <c>windowStart</c> may still be carried; those between the previous
    /// compose's window start and this one aged out since then. Without a previous issue nothing has aged out.
    /// </summary>
    private (long windowStart, long previousWindowStart) Window(DateTimeOffset now, long? previousComposedAt)
    {
        var windowStart = DbTime.ToDb(now - options.Value.CarryOverMaxAge);
        var previousWindowStart = previousComposedAt is { } previous
            ? Math.Min(windowStart, DbTime.ToDb(DbTime.FromDb(previous) - options.Value.CarryOverMaxAge))
            : windowStart;
        return (windowStart, previousWindowStart);
    }

    public async Task<long?> FindAsync(DateOnly date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(FindIssueSql, new { date = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) });
    }

    public async Task<bool> ExistsAsync(DateOnly date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(FindIssueSql, new { date = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }) is not null;
    }

    public async Task<long?> LatestIssueIdAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(LatestIssueSql);
    }

    public async Task<Issue> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var header = await connection.QuerySingleAsync<(long Id, string Date)>(IssueSql, new { id });
        var entries = (await connection.QueryAsync<EntryRow>(IssueEntriesSql, new { id })).ToList();
        return new Issue(header.Id, DateOnly.ParseExact(header.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            entries.Where(e => e.Compact == 0).Select(e => e.ToIssueEntry()).ToList())
        {
            More = entries.Where(e => e.Compact != 0).Select(e => e.ToIssueEntry()).ToList(),
        };
    }

    /// <summary>What the next issue would hold if composed now, without composing it (for previews).</summary>
    public async Task<Issue> DraftAsync(DateOnly date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var window = Window(time.GetUtcNow(), null);
        var entries = (await connection.QueryAsync<EntryRow>($"""
            SELECT 0 AS Position, title AS Title, summary AS Summary, authors AS Authors, url AS Url,
                   score AS Score, published_at AS PublishedAt, source AS Source, 0 AS Compact
            FROM entries WHERE id IN ({RankEntriesSql})
            ORDER BY score DESC, COALESCE(published_at, first_seen_at) DESC, id
            """, new { window.windowStart, limit = Capacity })).Select((e, i) => e.ToIssueEntry() with { Position = i + 1 }).ToList();
        var inFull = options.Value.MaxEntriesPerIssue;
        return new Issue(0, date, entries.Take(inFull).ToList()) { More = entries.Skip(inFull).ToList() };
    }

    /// <summary>
    /// Settable properties rather than a constructor: Dapper matches constructors by column type,
    /// and SQLite reports no type for computed columns of an empty result.
    /// </summary>
    private sealed class EntryRow
    {
        public long Position { get; init; }
        public string Title { get; init; } = "";
        public string Summary { get; init; } = "";
        public string Authors { get; init; } = "";
        public string Url { get; init; } = "";
        public long Score { get; init; }
        public long? PublishedAt { get; init; }
        public string Source { get; init; } = "";
        public long Compact { get; init; }

        public IssueEntry ToIssueEntry() => new(
            (int)Position, Title, Summary,
            Authors.Length == 0 ? [] : Authors.Split(EntryStore.AuthorSeparator),
            Url, (int)Score, DbTime.FromDb(PublishedAt), Source);
    }
}
