using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Sources;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>Reading composed issues and digests back (composing them is <see cref="DigestComposer"/>'s).</summary>
public sealed class IssueStore(Database database, IOptions<NewsletterOptions> options)
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

    private const string LatestIssueSql = "SELECT id FROM issues ORDER BY issue_date DESC LIMIT 1";

    private const string IssueSql = "SELECT id AS Id, issue_date AS Date FROM issues WHERE id = @id";

    private const string DigestSql = """
        SELECT g.id AS Id, i.id AS IssueId, i.issue_date AS Date, g.cadence AS Cadence
        FROM digests g JOIN issues i ON i.id = g.issue_id WHERE g.id = @id
        """;

    private const string DigestEntriesSql = """
        SELECT de.position AS Position, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source, de.why AS Why
        FROM digest_entries de JOIN entries e ON e.id = de.entry_id
        WHERE de.digest_id = @id ORDER BY de.position
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

    private const string IssueEntriesSql = """
        SELECT ie.position AS Position, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source
        FROM issue_entries ie JOIN entries e ON e.id = ie.entry_id
        WHERE ie.issue_id = @id ORDER BY ie.position
        """;

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

    /// <summary>One group's digest: the issue's date with the papers and reasons frozen for that group.</summary>
    public async Task<Issue> GetDigestAsync(long digestId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var header = await connection.QuerySingleAsync<(long Id, long IssueId, string Date, string Cadence)>(DigestSql, new { id = digestId });
        var entries = await connection.QueryAsync<EntryRow>(DigestEntriesSql, new { id = digestId });
        return new Issue(header.IssueId, DateOnly.ParseExact(header.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            entries.Select(e => e.ToIssueEntry()).ToList(), header.Cadence);
    }

    /// <summary>The digest a reader was given on a date (or, without a date, most recently), if any.</summary>
    public async Task<long?> ReaderDigestIdAsync(long subscriberId, DateOnly? date, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return date is { } day
            ? await connection.ExecuteScalarAsync<long?>(ReaderDigestSql, new { subscriberId, date = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) })
            : await connection.ExecuteScalarAsync<long?>(LatestReaderDigestSql, new { subscriberId });
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
        public string Why { get; init; } = "";

        public IssueEntry ToIssueEntry() => new(
            (int)Position, Title, Summary,
            Authors.Length == 0 ? [] : Authors.Split(EntryStore.AuthorSeparator),
            Url, (int)Score, DbTime.FromDb(PublishedAt), Source, Why);
    }
}
