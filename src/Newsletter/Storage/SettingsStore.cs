using Dapper;

namespace Newsletter.Storage;

/// <summary>Small key/value facts the service keeps for itself (e.g. the generated link secret).</summary>
public sealed class SettingsStore(Database database)
{
    private const string InsertIfAbsentSql = "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO NOTHING";
    private const string SelectSql = "SELECT value FROM settings WHERE key = @key";
    private const string UpsertSql = "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

    /// <summary>The stored value, or null when there is none.</summary>
    public async Task<string?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(SelectSql, new { key }, cancellationToken: cancellationToken));
    }

    public async Task SetAsync(string key, string value, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(UpsertSql, new { key, value }, cancellationToken: cancellationToken));
    }

    /// <summary>Returns the stored value, storing <paramref name="create"/>'s result first when there is none.</summary>
    public async Task<string> GetOrAddAsync(string key, Func<string> create, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var existing = await connection.QuerySingleOrDefaultAsync<string>(SelectSql, new { key });
        if (existing is not null)
            return existing;
        // Two processes starting at once must agree on one value: insert-if-absent, then read back.
        await connection.ExecuteAsync(InsertIfAbsentSql, new { key, value = create() });
        return await connection.QuerySingleAsync<string>(SelectSql, new { key });
    }
}
