using Dapper;
using Newsletter.Storage;

namespace Newsletter.Delivery;

/// <summary>The newest issue's ledger: when its last message went out and how its deliveries stand.</summary>
public sealed record LastSend(string IssueDate, DateTimeOffset? LastSentAt, IReadOnlyDictionary<string, long> Counts)
{
    public long Count(string status) => Counts.TryGetValue(status, out var n) ? n : 0;

    public long Total => Counts.Values.Sum();
}

/// <summary>Reads <see cref="LastSend"/> from the ledger for <c>/health</c>: the same numbers the ledger holds, on every instance.</summary>
public sealed class LastSendQuery(Database database)
{
    // The newest issue that has deliveries (a day with nothing new has an issue row and no ledger rows).
    private const string LatestSql = """
        SELECT i.id AS Id, i.issue_date AS IssueDate FROM issues i
        WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.issue_id = i.id)
        ORDER BY i.issue_date DESC LIMIT 1
        """;

    private const string CountsSql = "SELECT status AS Status, COUNT(*) AS Count FROM deliveries WHERE issue_id = @id GROUP BY status";

    private const string LastSentSql = "SELECT MAX(sent_at) FROM deliveries WHERE issue_id = @id";

    /// <summary>Null before the first issue with deliveries.</summary>
    public async Task<LastSend?> GetAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var latest = await connection.QuerySingleOrDefaultAsync<(long Id, string IssueDate)?>(LatestSql);
        if (latest is not { } issue)
            return null;
        var counts = (await connection.QueryAsync<(string Status, long Count)>(CountsSql, new { id = issue.Id }))
            .ToDictionary(r => r.Status, r => r.Count, StringComparer.Ordinal);
        var lastSent = await connection.ExecuteScalarAsync<long?>(LastSentSql, new { id = issue.Id });
        return new LastSend(issue.IssueDate, DbTime.FromDb(lastSent), counts);
    }
}
