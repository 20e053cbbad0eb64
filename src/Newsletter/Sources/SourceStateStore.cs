using Dapper;
using Newsletter.Storage;

namespace Newsletter.Sources;

/// <summary>How a source is doing, as the console shows it.</summary>
/// <param name="LastSuccessAt">The last fetch that was read (null: never).</param>
/// <param name="LastError">The last fetch's error; null when it succeeded.</param>
/// <param name="PapersLastDay">Papers it listed that were first collected in the last 24 hours.</param>
public sealed record SourceHealth(string Name, DateTimeOffset? LastSuccessAt, string? LastError, long PapersLastDay);

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

    private const string HealthSql = "SELECT name AS Name, last_fetched_at AS LastFetchedAt, last_error AS LastError FROM source_state";

    private const string PapersSinceSql = """
        SELECT es.source AS Source, COUNT(*) AS Count FROM entries e JOIN entry_sources es ON es.entry_id = e.id
        WHERE e.first_seen_at >= @since GROUP BY es.source
        """;

    /// <summary>
    /// Each named source's last success and error (what <c>source_state</c> holds), and its papers of
    /// the last day. The one read of source health, so a richer store can take its place.
    /// </summary>
    public async Task<IReadOnlyList<SourceHealth>> HealthAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var states = (await connection.QueryAsync<(string Name, long? LastFetchedAt, string? LastError)>(new CommandDefinition(HealthSql, cancellationToken: cancellationToken)))
            .ToDictionary(s => s.Name, StringComparer.Ordinal);
        var papers = (await connection.QueryAsync<(string Source, long Count)>(new CommandDefinition(PapersSinceSql,
            new { since = DbTime.ToDb(time.GetUtcNow() - TimeSpan.FromDays(1)) }, cancellationToken: cancellationToken))).ToDictionary(p => p.Source, p => p.Count, StringComparer.Ordinal);
        return names.Select(name => states.TryGetValue(name, out var state)
            ? new SourceHealth(name, DbTime.FromDb(state.LastFetchedAt), state.LastError, papers.GetValueOrDefault(name))
            : new SourceHealth(name, null, null, papers.GetValueOrDefault(name))).ToList();
    }

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
