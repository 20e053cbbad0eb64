using Dapper;
using Newsletter.Storage;

namespace Newsletter.Subscriptions;

/// <summary>Where a vote came from: a link in a digest, a paper pasted on the preferences page, or the operator.</summary>
public static class VoteOrigin
{
    public const string Mail = "mail";
    public const string Seed = "seed";
    public const string Operator = "operator";
}

/// <summary>
/// A reader's votes, one per paper: +1 "more like this", −1 "less like this". A later vote on the same paper
/// replaces the earlier one (a reader may change their mind); the learned ranking reads them at compose.
/// </summary>
public sealed class VoteStore(Database database, TimeProvider time)
{
    private const string PreviousSql = "SELECT vote FROM votes WHERE subscriber_id = @subscriberId AND entry_id = @entryId";

    private const string UpsertSql = """
        INSERT INTO votes (subscriber_id, entry_id, vote, origin, voted_at) VALUES (@subscriberId, @entryId, @vote, @origin, @now)
        ON CONFLICT (subscriber_id, entry_id) DO UPDATE SET vote = excluded.vote, origin = excluded.origin, voted_at = excluded.voted_at
        """;

    private const string CountSql = "SELECT COUNT(*) FROM votes WHERE subscriber_id = @subscriberId";

    private const string TitleSql = "SELECT title FROM entries WHERE id = @entryId";

    /// <summary>Records the vote; returns the one it replaced (null: none).</summary>
    public async Task<int?> RecordAsync(long subscriberId, long entryId, int vote, string origin, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var previous = await connection.ExecuteScalarAsync<long?>(PreviousSql, new { subscriberId, entryId }, transaction);
        await connection.ExecuteAsync(UpsertSql, new { subscriberId, entryId, vote = Math.Sign(vote), origin, now = DbTime.ToDb(time.GetUtcNow()) }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return previous is { } value ? (int)value : null;
    }

    public async Task<long> CountAsync(long subscriberId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(CountSql, new { subscriberId });
    }

    /// <summary>The paper's title, or null when the id names no paper (a token is only as good as the row it points at).</summary>
    public async Task<string?> TitleAsync(long entryId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string?>(TitleSql, new { entryId });
    }
}
