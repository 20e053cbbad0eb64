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

    /// <summary>Forgets windows that ended before <paramref name="before"/>.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync("DELETE FROM rate_limits WHERE window_start < @before", new { before = DbTime.ToDb(before) });
    }
}
