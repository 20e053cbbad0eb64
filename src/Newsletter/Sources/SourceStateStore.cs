using Dapper;
using Newsletter.Storage;

namespace Newsletter.Sources;

/// <summary>Per-source validators (ETag, Last-Modified) and the last error, keyed by source name.</summary>
public sealed class SourceStateStore(Database database, TimeProvider time)
{
    private const string SelectSql = "SELECT etag AS ETag, last_modified AS LastModified FROM source_state WHERE name = @name";

    private const string SaveSuccessSql = """
        INSERT INTO source_state (name, etag, last_modified, last_fetched_at, last_error)
        VALUES (@name, @etag, @lastModified, @now, NULL)
        ON CONFLICT (name) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
            last_fetched_at = excluded.last_fetched_at, last_error = NULL
        """;

    private const string SaveErrorSql = """
        INSERT INTO source_state (name, last_error) VALUES (@name, @error)
        ON CONFLICT (name) DO UPDATE SET last_error = excluded.last_error
        """;




    public async Task<SourceState> GetAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<SourceState>(SelectSql, new { name }) ?? new SourceState(null, null);
    }

    public async Task SaveSuccessAsync(string name, SourceState state, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(SaveSuccessSql, new { name, etag = state.ETag, lastModified = state.LastModified, now = DbTime.ToDb(time.GetUtcNow()) });
    }

    public async Task SaveErrorAsync(string name, string error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(SaveErrorSql, new { name, error });
    }
}
