using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>An issue's own list of papers (what a reader without preferences would see), and reading issues and digests back.</summary>
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

    private const string InsertIssueSql = "INSERT INTO issues (issue_date, composed_at) VALUES (@date, @now) RETURNING id";

    private const string InsertIssueEntrySql = "INSERT INTO issue_entries (issue_id, position, entry_id, compact) VALUES (@issueId, @position, @entryId, @compact)";

    private const string LatestIssueSql = "SELECT id FROM issues ORDER BY issue_date DESC LIMIT 1";

    private const string IssueSql = "SELECT id AS Id, issue_date AS Date FROM issues WHERE id = @id";

    private const string DigestSql = """
        SELECT g.id AS Id, i.id AS IssueId, i.issue_date AS Date, g.cadence AS Cadence
        FROM digests g JOIN issues i ON i.id = g.issue_id WHERE g.id = @id
        """;

    // Compact 2 marks the papers a digest had no room for (carried into the reader's next one): not shown.
    private const string DigestEntriesSql = $"""
        SELECT de.position AS Position, e.id AS Id, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source, de.why AS Why, de.compact AS Compact,
               {PaperRow.CardColumnsOfE}
        FROM digest_entries de JOIN entries e ON e.id = de.entry_id
        WHERE de.digest_id = @id AND de.compact < 2 ORDER BY de.position
        """;

    // A digest's header and its order (papers by id, reasons, places) without the papers themselves: a send run
    // keeps the papers it has read (DigestPapers), so a reader with a digest of their own costs one light query.
    private const string DigestOrderSql = """
        SELECT i.id AS IssueId, i.issue_date AS Date, g.cadence AS Cadence, de.position AS Position, de.entry_id AS EntryId, de.why AS Why, de.compact AS Compact
        FROM digests g JOIN issues i ON i.id = g.issue_id JOIN digest_entries de ON de.digest_id = g.id
        WHERE g.id = @id AND de.compact < 2 ORDER BY de.position
        """;

    private const string PapersByIdSql = $"""
        SELECT e.id AS Id, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source, {PaperRow.CardColumnsOfE}
        FROM entries e WHERE e.id IN @ids
        """;

    // A reader's digest of a date, if one was composed for them.
    private const string ReaderDigestSql = """
        SELECT d.digest_id FROM deliveries d JOIN issues i ON i.id = d.issue_id
        WHERE i.issue_date = @date AND d.subscriber_id = @subscriberId AND d.digest_id IS NOT NULL
        """;

    private const string LatestReaderDigestSql = """
        SELECT d.digest_id FROM deliveries d JOIN issues i ON i.id = d.issue_id
        WHERE d.subscriber_id = @subscriberId AND d.digest_id IS NOT NULL ORDER BY i.issue_date DESC, d.id DESC LIMIT 1
        """;

    private const string IssueEntriesSql = $"""
        SELECT ie.position AS Position, e.id AS Id, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source, ie.compact AS Compact,
               {PaperRow.CardColumnsOfE}
        FROM issue_entries ie JOIN entries e ON e.id = ie.entry_id
        WHERE ie.issue_id = @id ORDER BY ie.position
        """;

    private const string SkipsSql = """
        SELECT s.email AS Email, k.reason AS Reason FROM digest_skips k JOIN subscribers s ON s.id = k.subscriber_id
        WHERE k.issue_date = @date AND k.created_at = @at ORDER BY s.email LIMIT @limit
        """;

    /// <summary>
    /// Creates the issue of <paramref name="date"/> inside the composer's transaction, with its own
    /// list: the waiting papers, ranked and split into full and compact (the rest wait for the next
    /// issue). Readers get their own digests (<see cref="DigestComposer"/>); this list is the issue
    /// as a reader without preferences would see it, for previews and archives.
    /// </summary>
    /// <returns>The issue's id, and how many papers its list got when this call created it (null when it existed); no id when
    /// <paramref name="onlyWithPapers"/> and nothing waits.</returns>
    internal async Task<(long? Id, int? Papers)> CreateAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction,
        DateOnly date, DateTimeOffset now, bool onlyWithPapers = false)
    {
        var dateText = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (await connection.ExecuteScalarAsync<long?>(FindIssueSql, new { date = dateText }, transaction) is { } existing)
            return (existing, null);
        var window = Window(now, await connection.ExecuteScalarAsync<long?>(PreviousComposedAtSql, transaction: transaction));
        var entryIds = (await connection.QueryAsync<long>(RankEntriesSql, new { window.windowStart, limit = Capacity }, transaction)).ToList();
        if (onlyWithPapers && entryIds.Count == 0)
            return (null, null);
        var issueId = await connection.ExecuteScalarAsync<long>(InsertIssueSql, new { date = dateText, now = DbTime.ToDb(now) }, transaction);
        var inFull = options.Value.MaxEntriesPerIssue;
        await connection.ExecuteAsync(InsertIssueEntrySql,
            entryIds.Select((entryId, index) => new { issueId, position = index + 1, entryId, compact = index >= inFull ? 1 : 0 }), transaction);
        return (issueId, entryIds.Count);
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
        var entries = (await connection.QueryAsync<PaperRow>(IssueEntriesSql, new { id })).ToList();
        return new Issue(header.Id, DateOnly.ParseExact(header.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            entries.Where(e => e.Compact == 0).Select(e => e.ToIssueEntry()).ToList())
        {
            More = entries.Where(e => e.Compact != 0).Select(e => e.ToIssueEntry()).ToList(),
        };
    }

    /// <summary>One group's digest: the issue's date with the papers and reasons frozen for that group.</summary>
    public async Task<Issue> GetDigestAsync(long digestId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var header = await connection.QuerySingleAsync<(long Id, long IssueId, string Date, string Cadence)>(DigestSql, new { id = digestId });
        var entries = (await connection.QueryAsync<PaperRow>(DigestEntriesSql, new { id = digestId })).ToList();
        return new Issue(header.IssueId, DateOnly.ParseExact(header.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            entries.Where(e => e.Compact == 0).Select(e => e.ToIssueEntry()).ToList(), header.Cadence)
        {
            More = entries.Where(e => e.Compact != 0).Select(e => e.ToIssueEntry()).ToList(),
        };
    }

    /// <summary>
    /// As <see cref="GetDigestAsync(long, CancellationToken)"/>, the papers taken from <paramref name="papers"/> where it
    /// has them (and kept there): with every reader in an order of their own, a run reads each paper once, not once per reader.
    /// </summary>
    public async Task<Issue> GetDigestAsync(long digestId, DigestPapers papers, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var order = (await connection.QueryAsync<(long IssueId, string Date, string Cadence, long Position, long EntryId, string Why, long Compact)>(
            new CommandDefinition(DigestOrderSql, new { id = digestId }, cancellationToken: cancellationToken))).AsList();
        if (order.Count == 0)
            return await GetDigestAsync(digestId, cancellationToken);
        var found = new Dictionary<long, IssueEntry>(order.Count);
        foreach (var o in order)
            if (papers.TryGet(o.EntryId, out var known))
                found[o.EntryId] = known;
        var missing = order.Select(o => o.EntryId).Where(id => !found.ContainsKey(id)).Distinct().ToArray();
        foreach (var chunk in missing.Chunk(PaperWindow.Chunk))
            foreach (var row in await connection.QueryAsync<PaperRow>(new CommandDefinition(database.InList(PapersByIdSql), new { ids = chunk }, cancellationToken: cancellationToken)))
                papers.Add(found[row.Id] = row.ToIssueEntry());
        var entries = new List<IssueEntry>(order.Count);
        var more = new List<IssueEntry>();
        // As the join of the full query would, a paper no longer stored is left out.
        foreach (var o in order)
            if (found.TryGetValue(o.EntryId, out var paper))
                (o.Compact == 0 ? entries : more).Add(paper with { Position = (int)o.Position, Why = o.Why });
        var head = order[0];
        return new Issue(head.IssueId, DateOnly.ParseExact(head.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture), entries, head.Cadence) { More = more };
    }

    /// <summary>The digest a reader was given on a date (or, without a date, most recently), if any.</summary>
    public async Task<long?> ReaderDigestIdAsync(long subscriberId, DateOnly? date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return date is { } day
            ? await connection.ExecuteScalarAsync<long?>(ReaderDigestSql, new { subscriberId, date = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) })
            : await connection.ExecuteScalarAsync<long?>(LatestReaderDigestSql, new { subscriberId });
    }

    /// <summary>The readers a compose at <paramref name="at"/> sent nothing for <paramref name="date"/>, with the reason (the first <paramref name="limit"/>).</summary>
    public async Task<IReadOnlyList<(string Email, string Reason)>> SkipsAsync(DateOnly date, DateTimeOffset at, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<(string Email, string Reason)>(SkipsSql,
            new { date = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), at = DbTime.ToDb(at), limit })).ToList();
    }

    /// <summary>What the next issue would hold if composed now, without composing it (for previews).</summary>
    public async Task<Issue> DraftAsync(DateOnly date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var window = Window(time.GetUtcNow(), null);
        var entries = (await connection.QueryAsync<PaperRow>($"""
            SELECT 0 AS Position, id AS Id, title AS Title, summary AS Summary, authors AS Authors, url AS Url,
                   score AS Score, published_at AS PublishedAt, source AS Source, 0 AS Compact, {PaperRow.CardColumns}
            FROM entries WHERE id IN ({RankEntriesSql})
            ORDER BY score DESC, COALESCE(published_at, first_seen_at) DESC, id
            """, new { window.windowStart, limit = Capacity })).Select((e, i) => e.ToIssueEntry() with { Position = i + 1 }).ToList();
        var inFull = options.Value.MaxEntriesPerIssue;
        return new Issue(0, date, entries.Take(inFull).ToList()) { More = entries.Skip(inFull).ToList() };
    }
}

/// <summary>
/// The papers one send run has read, by entry id, as digests hold them (position and reason are each digest's own).
/// Bounded: past <see cref="Capacity"/> papers (a run over several days' digests) it starts again.
/// </summary>
public sealed class DigestPapers
{
    private const int Capacity = 4_096;
    private readonly Dictionary<long, IssueEntry> _papers = [];

    internal bool TryGet(long id, out IssueEntry paper)
    {
        lock (_papers)
            return _papers.TryGetValue(id, out paper!);
    }

    internal void Add(IssueEntry paper)
    {
        lock (_papers)
        {
            if (_papers.Count >= Capacity)
                _papers.Clear();
            _papers[paper.EntryId] = paper;
        }
    }
}
