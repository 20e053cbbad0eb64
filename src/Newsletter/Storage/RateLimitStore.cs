using Dapper;

namespace Newsletter.Storage;

/// <summary>
/// Fixed-window counters kept in the database, for limits that must hold across instances (a
/// client spreading requests over three instances behind a load balancer gets one allowance).
/// </summary>
public sealed class RateLimitStore(Database database, TimeProvider time)
{
    // One statement: a window starts with a key's first request (as ASP.NET Core's fixed window
    // does) and restarts once it has passed; within it the count grows.
    private const string TakeSql = """
        INSERT INTO rate_limits (key, window_start, count) VALUES (@key, @now, 1)
        ON CONFLICT (key) DO UPDATE SET
            count = CASE WHEN rate_limits.window_start > @now - @window THEN rate_limits.count + 1 ELSE 1 END,
            window_start = CASE WHEN rate_limits.window_start > @now - @window THEN rate_limits.window_start ELSE @now END
        RETURNING count
        """;

    /// <summary>Counts one request against <paramref name="key"/>; true while the window's count is within <paramref name="permits"/>.</summary>
    public async Task<bool> TryTakeAsync(string key, int permits, TimeSpan window, CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var connection = await database.OpenAsync(cancellationToken);
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition(TakeSql,
            new { key, now, window = (long)window.TotalMilliseconds }, cancellationToken: cancellationToken));
        return count <= permits;
    }

    // An attempt under a lockout: counted first (so that parallel attempts each get their own number,
    // and none is checked once the lock is set), unless the key is locked, which returns no row. The
    // row then holds the failures in a row (count) and in window_start the time the lock ends, or,
    // while unlocked, minus the time of the last attempt: never a positive "now", which a racing
    // attempt whose clock read a millisecond earlier would take for a lock; and still purged a day on.
    private const string CountAttemptSql = """
        INSERT INTO rate_limits (key, window_start, count) VALUES (@key, -@now, 1)
        ON CONFLICT (key) DO UPDATE SET count = rate_limits.count + 1, window_start = -@now WHERE rate_limits.window_start <= @now
        RETURNING count
        """;

    /// <summary>
    /// Counts an attempt against a lockout key shared by every instance: returns its number (1 for
    /// the first since the last <see cref="ForgetAsync"/>) and locks the key until <paramref name="lockFor"/>
    /// of that number has passed; or, while the key is locked, counts nothing and returns the time left.
    /// One transaction: PostgreSQL holds the row and SQLite the file until the lock is set, so two
    /// instances never both take the attempt that locks.
    /// </summary>
    public async Task<(long Attempt, TimeSpan Locked)> CountAttemptAsync(string key, Func<long, TimeSpan> lockFor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var attempt = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(CountAttemptSql,
            new { key, now = DbTime.ToDb(now) }, transaction, cancellationToken: cancellationToken));
        if (attempt is null)
        {
            var until = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT window_start FROM rate_limits WHERE key = @key", new { key }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return (0, DbTime.FromDb(until) - now);
        }
        if (lockFor(attempt.Value) is { Ticks: > 0 } locked)
            await connection.ExecuteAsync(new CommandDefinition("UPDATE rate_limits SET window_start = @until WHERE key = @key",
                new { key, until = DbTime.ToDb(now + locked) }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (attempt.Value, TimeSpan.Zero);
    }

    /// <summary>Forgets a key's count and lock (a lockout's right answer).</summary>
    public async Task ForgetAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM rate_limits WHERE key = @key", new { key }, cancellationToken: cancellationToken));
    }

    /// <summary>Forgets windows that ended before <paramref name="before"/>.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // A negative window_start is a lockout's last attempt (see CountAttemptSql).
        return await connection.ExecuteAsync("DELETE FROM rate_limits WHERE (window_start >= 0 AND window_start < @before) OR (window_start < 0 AND window_start > -@before)",
            new { before = DbTime.ToDb(before) });
    }
}
