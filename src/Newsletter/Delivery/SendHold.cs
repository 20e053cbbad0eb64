using Dapper;
using Newsletter.Storage;

namespace Newsletter.Delivery;

/// <summary>
/// A hold on all sending, for every instance (it is a row in the database): set when complaints
/// pass <c>Bounces:MaxComplaintRate</c>; a delivery run finds it and sends nothing until the
/// operator lifts it (<c>send-now</c>). <c>/health</c> is unhealthy while it holds.
/// </summary>
public sealed class SendHold(Database database, TimeProvider time)
{
    private const string Key = "send_hold";
    private const string SelectSql = "SELECT value FROM settings WHERE key = @key";
    private const string UpsertSql = "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    private const string DeleteSql = "DELETE FROM settings WHERE key = @key";

    /// <summary>Why sending is held (with since when), or null.</summary>
    public async Task<string?> ReasonAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(SelectSql, new { key = Key }, cancellationToken: cancellationToken));
    }

    public async Task HoldAsync(string reason, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(UpsertSql,
            new { key = Key, value = $"{reason} (since {time.GetUtcNow():yyyy-MM-dd HH:mm} UTC)" }, cancellationToken: cancellationToken));
    }

    /// <summary>Lifts the hold; returns the reason it had, or null when there was none.</summary>
    public async Task<string?> ReleaseAsync(CancellationToken cancellationToken)
    {
        var reason = await ReasonAsync(cancellationToken);
        if (reason is null)
            return null;
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(DeleteSql, new { key = Key }, cancellationToken: cancellationToken));
        return reason;
    }
}
