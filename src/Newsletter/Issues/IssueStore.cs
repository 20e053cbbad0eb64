using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Sources;
using Newsletter.Storage;

namespace Newsletter.Issues;

public enum ComposeOutcome { Composed, AlreadyComposed, NoEntries }

public sealed record ComposeResult(ComposeOutcome Outcome, DateOnly Date, long? IssueId, int Entries, int Deliveries);

/// <summary>Composing issues (entries frozen, one ledger row per active subscriber) and reading them back.</summary>
public sealed class IssueStore(Database database, TimeProvider time, IOptions<NewsletterOptions> options)
{
    private const string FindIssueSql = "SELECT id FROM issues WHERE issue_date = @date";

    private const string PreviousComposedAtSql = "SELECT COALESCE(MAX(composed_at), 0) FROM issues";

    // Score first, then recency; the id makes the order total so a rerun ranks identically.
    private const string RankEntriesSql = """
        SELECT id FROM entries
        WHERE first_seen_at > @since
        ORDER BY score DESC, COALESCE(published_at, first_seen_at) DESC, id
        LIMIT @limit
        """;

    private const string InsertIssueSql = "INSERT INTO issues (issue_date, composed_at) VALUES (@date, @now) RETURNING id";

    private const string InsertIssueEntrySql = "INSERT INTO issue_entries (issue_id, position, entry_id) VALUES (@issueId, @position, @entryId)";

    // The Message-ID is fixed here, before any attempt, so every resend carries the same one.
    private const string FanOutSql = """
        INSERT INTO deliveries (issue_id, subscriber_id, message_id, status, next_attempt_at, created_at)
        SELECT @issueId, id, '<digest.' || @compactDate || '.' || @issueId || '.' || id || '@' || @domain || '>', 'pending', @now, @now
        FROM subscribers WHERE status = 'active' AND paused = 0
        """;

    private const string LatestIssueSql = "SELECT id FROM issues ORDER BY issue_date DESC LIMIT 1";

    private const string IssueSql = "SELECT id AS Id, issue_date AS Date FROM issues WHERE id = @id";

    private const string IssueEntriesSql = """
        SELECT ie.position AS Position, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source
        FROM issue_entries ie JOIN entries e ON e.id = ie.entry_id
        WHERE ie.issue_id = @id ORDER BY ie.position
        """;

    /// <summary>
    /// Composes the issue of <paramref name="date"/> in one transaction: the entries first seen since
    /// the previous issue, ranked, and one pending delivery per active subscriber. A date that already
    /// has an issue, or a day without new entries, composes nothing.
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

        var since = await connection.ExecuteScalarAsync<long>(PreviousComposedAtSql, transaction: transaction);
        var entryIds = (await connection.QueryAsync<long>(RankEntriesSql, new { since, limit = options.Value.MaxEntriesPerIssue }, transaction)).ToList();
        if (entryIds.Count == 0)
            return new ComposeResult(ComposeOutcome.NoEntries, date, null, 0, 0);

        var now = DbTime.ToDb(time.GetUtcNow());
        var issueId = await connection.ExecuteScalarAsync<long>(InsertIssueSql, new { date = dateText, now }, transaction);
        await connection.ExecuteAsync(InsertIssueEntrySql,
            entryIds.Select((entryId, index) => new { issueId, position = index + 1, entryId }), transaction);
        var domain = options.Value.From.Address[(options.Value.From.Address.LastIndexOf('@') + 1)..];
        var deliveries = await connection.ExecuteAsync(FanOutSql,
            new { issueId, compactDate = date.ToString("yyyyMMdd", CultureInfo.InvariantCulture), domain, now }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return new ComposeResult(ComposeOutcome.Composed, date, issueId, entryIds.Count, deliveries);
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
        var entries = await connection.QueryAsync<EntryRow>(IssueEntriesSql, new { id });
        return new Issue(header.Id, DateOnly.ParseExact(header.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            entries.Select(e => e.ToIssueEntry()).ToList());
    }

    /// <summary>What the next issue would hold, without composing it (for previews).</summary>
    public async Task<Issue> DraftAsync(DateOnly date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var since = await connection.ExecuteScalarAsync<long>(PreviousComposedAtSql);
        var entries = await connection.QueryAsync<EntryRow>($"""
            SELECT 0 AS Position, title AS Title, summary AS Summary, authors AS Authors, url AS Url,
                   score AS Score, published_at AS PublishedAt, source AS Source
            FROM entries WHERE id IN ({RankEntriesSql})
            ORDER BY score DESC, COALESCE(published_at, first_seen_at) DESC, id
            """, new { since, limit = options.Value.MaxEntriesPerIssue });
        return new Issue(0, date, entries.Select((e, i) => e.ToIssueEntry() with { Position = i + 1 }).ToList());
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

        public IssueEntry ToIssueEntry() => new(
            (int)Position, Title, Summary,
            Authors.Length == 0 ? [] : Authors.Split(EntryStore.AuthorSeparator),
            Url, (int)Score, DbTime.FromDb(PublishedAt), Source);
    }
}
