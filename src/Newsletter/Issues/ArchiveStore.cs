using System.Globalization;
using Dapper;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>One line of the archive's index: an issue that has papers, and when it last changed.</summary>
public sealed record ArchiveListing(DateOnly Date, int Papers, DateTimeOffset LastModified);

/// <summary>An issue as the public sees it, and when it last changed (composed, or a paper's score or text updated since).</summary>
public sealed record ArchivedIssue(Issue Issue, DateTimeOffset ComposedAt, DateTimeOffset LastModified);

/// <summary>
/// The public archive: each issue's own list (what a reader without preferences gets; <see cref="IssueStore"/>
/// freezes it when the issue is composed), read back by date, newest first, and optionally narrowed to one
/// topic the way a reader's topics narrow their digest (<see cref="PaperFilter"/>: an arXiv category, an
/// archive such as <c>cs</c> covering its categories, or a source name). Nothing here touches a reader,
/// a delivery or a token: only issues, their papers and their sources.
/// </summary>
public sealed class ArchiveStore(Database database)
{
    // Issues without papers (every reader had preferences that day, or nothing came) are not archived.
    private const string ListSql = """
        SELECT i.issue_date AS Date, COUNT(*) AS Papers, MAX(CASE WHEN e.updated_at > i.composed_at THEN e.updated_at ELSE i.composed_at END) AS LastModified
        FROM issues i JOIN issue_entries ie ON ie.issue_id = i.id JOIN entries e ON e.id = ie.entry_id
        GROUP BY i.id, i.issue_date
        ORDER BY i.issue_date DESC
        LIMIT @limit OFFSET @offset
        """;

    private const string CountSql = "SELECT COUNT(*) FROM issues i WHERE EXISTS (SELECT 1 FROM issue_entries ie WHERE ie.issue_id = i.id)";

    private const string FindSql = "SELECT id AS Id, composed_at AS ComposedAt FROM issues WHERE issue_date = @date";

    private const string LatestSql = """
        SELECT i.id AS Id, i.issue_date AS Date, i.composed_at AS ComposedAt FROM issues i
        WHERE EXISTS (SELECT 1 FROM issue_entries ie WHERE ie.issue_id = i.id)
        ORDER BY i.issue_date DESC LIMIT @limit
        """;

    private const string EntriesSql = $"""
        SELECT ie.position AS Position, e.id AS Id, e.title AS Title, e.summary AS Summary, e.authors AS Authors, e.url AS Url,
               e.score AS Score, e.published_at AS PublishedAt, e.source AS Source, e.categories AS Categories,
               e.first_seen_at AS FirstSeenAt, e.updated_at AS UpdatedAt, ie.compact AS Compact,
               {PaperRow.CardColumnsOfE}
        FROM issue_entries ie JOIN entries e ON e.id = ie.entry_id
        WHERE ie.issue_id = @id ORDER BY ie.position
        """;

    private const string SourcesSql = """
        SELECT es.entry_id AS EntryId, es.source AS Source FROM entry_sources es
        WHERE es.entry_id IN (SELECT ie.entry_id FROM issue_entries ie WHERE ie.issue_id = @id)
        """;

    /// <summary>One page of the index, newest first, and how many issues there are in all.</summary>
    public async Task<(IReadOnlyList<ArchiveListing> Issues, int Total)> ListAsync(int page, int pageSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var total = await connection.ExecuteScalarAsync<long>(CountSql);
        var rows = await connection.QueryAsync<ListingRow>(ListSql, new { limit = (long)pageSize, offset = (long)Math.Max(0, page - 1) * pageSize });
        return (rows.Select(r => new ArchiveListing(ParseDate(r.Date), (int)r.Papers, DbTime.FromDb(r.LastModified))).ToList(), (int)total);
    }

    /// <summary>The issue of a date as the public sees it; null when there is none, or it holds nothing (of the topic).</summary>
    public async Task<ArchivedIssue?> GetAsync(DateOnly date, string? topic, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var header = await connection.QuerySingleOrDefaultAsync<HeaderRow>(FindSql, new { date = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) });
        return header is null ? null : await LoadAsync(connection, header, date, topic);
    }

    /// <summary>The newest <paramref name="count"/> issues with papers (of the topic, when one is given), newest first.</summary>
    public async Task<IReadOnlyList<ArchivedIssue>> LatestAsync(int count, string? topic, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var headers = (await connection.QueryAsync<HeaderRow>(LatestSql, new { limit = (long)count })).ToList();
        var issues = new List<ArchivedIssue>();
        foreach (var header in headers)
            if (await LoadAsync(connection, header, ParseDate(header.Date!), topic) is { } issue)
                issues.Add(issue);
        return issues;
    }

    private static async Task<ArchivedIssue?> LoadAsync(System.Data.Common.DbConnection connection, HeaderRow header, DateOnly date, string? topic)
    {
        var rows = (await connection.QueryAsync<PaperRow>(EntriesSql, new { id = header.Id })).ToList();
        if (rows.Count == 0)
            return null;
        var composedAt = DbTime.FromDb(header.ComposedAt);
        var lastModified = DbTime.FromDb(Math.Max(header.ComposedAt, rows.Max(r => r.UpdatedAt)));
        if (!string.IsNullOrEmpty(topic))
        {
            var sources = (await connection.QueryAsync<(long EntryId, string Source)>(SourcesSql, new { id = header.Id }))
                .ToLookup(s => s.EntryId, s => s.Source);
            var filter = new PaperFilter(new Preferences { Topics = [topic] });
            rows = rows.Where(r => filter.Matches(r.ToCandidate(sources[r.Id].ToList()), out _)).ToList();
            if (rows.Count == 0)
                return null;
        }
        // Numbered as shown: a topic's page counts its own papers from 1.
        var entries = rows.Select((r, i) => r.ToIssueEntry() with { Position = i + 1 }).ToList();
        var full = rows.Select((r, i) => (r, i)).Where(x => x.r.Compact == 0).Select(x => entries[x.i]).ToList();
        var more = rows.Select((r, i) => (r, i)).Where(x => x.r.Compact != 0).Select(x => entries[x.i]).ToList();
        return new ArchivedIssue(new Issue(header.Id, date, full) { More = more }, composedAt, lastModified);
    }

    private static DateOnly ParseDate(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    // Settable properties: Dapper matches constructors by column type, and SQLite types aggregates loosely.
    private sealed class ListingRow
    {
        public string Date { get; init; } = "";
        public long Papers { get; init; }
        public long LastModified { get; init; }
    }

    private sealed class HeaderRow
    {
        public long Id { get; init; }
        public string? Date { get; init; }
        public long ComposedAt { get; init; }
    }

}
