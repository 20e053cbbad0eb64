using Dapper;
using Newsletter.Storage;

namespace Newsletter.Sources;

/// <summary>One collect of one source: when, how it ended, how many papers it listed and how many were new.</summary>
public sealed record SourceRun(DateTimeOffset At, CollectOutcome Outcome, int Papers, int Added, string? Error);

/// <summary>
/// A source's health as the runs tell it: its last success and last error, how many runs in a row have
/// failed (zero after a success or a 304), and its most recent runs, newest first.
/// </summary>
public sealed record SourceHealth(
    string Name,
    DateTimeOffset? LastSuccessAt,
    DateTimeOffset? LastErrorAt,
    string? LastError,
    int ConsecutiveFailures,
    IReadOnlyList<SourceRun> RecentRuns)
{
    /// <summary>Never collected yet (a fresh install, or a source just added).</summary>
    public bool NeverRun => RecentRuns.Count == 0;
}

/// <summary>
/// The history of every source's collects (table <c>source_runs</c>): written once per source per
/// collect, read by <c>/health</c> (a source failing for several runs) and the console (papers per run).
/// Rows older than <see cref="Kept"/> are pruned as new ones arrive, so the table stays small.
/// </summary>
public sealed class SourceHealthStore(Database database, TimeProvider time)
{
    /// <summary>How long a run stays on record.</summary>
    public static readonly TimeSpan Kept = TimeSpan.FromDays(90);

    private const string InsertSql = """
        INSERT INTO source_runs (source, run_at, outcome, papers, added, error)
        VALUES (@source, @at, @outcome, @papers, @added, @error)
        """;

    private const string PruneSql = "DELETE FROM source_runs WHERE source = @source AND run_at < @before";

    // The newest runs by id (the index is (source, id)); limited per source, so a year of hourly runs costs nothing.
    private const string RecentSql = """
        SELECT run_at AS At, outcome AS Outcome, papers AS Papers, added AS Added, error AS Error
        FROM source_runs WHERE source = @source ORDER BY id DESC LIMIT @limit
        """;

    // Runs after the last one that did not fail; the last success and last error wherever they are.
    private const string SummarySql = """
        SELECT
            (SELECT MAX(run_at) FROM source_runs WHERE source = @source AND outcome <> 'failed') AS LastSuccessAt,
            (SELECT MAX(id) FROM source_runs WHERE source = @source AND outcome = 'failed') AS LastErrorId,
            (SELECT COUNT(*) FROM source_runs WHERE source = @source AND outcome = 'failed'
               AND id > COALESCE((SELECT MAX(id) FROM source_runs WHERE source = @source AND outcome <> 'failed'), 0)) AS ConsecutiveFailures
        """;

    private const string ErrorSql = "SELECT run_at AS At, error AS Error FROM source_runs WHERE id = @id";

    /// <summary>Records one collect of one source, and forgets that source's runs older than <see cref="Kept"/>.</summary>
    public async Task RecordAsync(SourceReport report, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(InsertSql, new
        {
            source = report.Name,
            at = DbTime.ToDb(now),
            outcome = Word(report.Outcome),
            papers = (long)report.Parsed,
            added = (long)report.Added,
            error = report.Error,
        });
        await connection.ExecuteAsync(PruneSql, new { source = report.Name, before = DbTime.ToDb(now - Kept) });
    }

    /// <summary>Each named source's health, in the order given; <paramref name="recentRuns"/> runs each.</summary>
    public async Task<IReadOnlyList<SourceHealth>> ListAsync(IEnumerable<string> names, int recentRuns, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var result = new List<SourceHealth>();
        foreach (var name in names)
        {
            var summary = await connection.QuerySingleAsync<SummaryRow>(SummarySql, new { source = name });
            var runs = (await connection.QueryAsync<RunRow>(RecentSql, new { source = name, limit = (long)Math.Max(0, recentRuns) }))
                .Select(r => new SourceRun(DbTime.FromDb(r.At), Parse(r.Outcome), (int)r.Papers, (int)r.Added, r.Error))
                .ToList();
            ErrorRow? error = summary.LastErrorId is { } id
                ? await connection.QuerySingleOrDefaultAsync<ErrorRow>(ErrorSql, new { id })
                : null;
            result.Add(new SourceHealth(name, DbTime.FromDb(summary.LastSuccessAt), DbTime.FromDb(error?.At), error?.Error,
                (int)summary.ConsecutiveFailures, runs));
        }
        return result;
    }

    private static string Word(CollectOutcome outcome) => outcome switch
    {
        CollectOutcome.Stored => "stored",
        CollectOutcome.NotModified => "not_modified",
        _ => "failed",
    };

    private static CollectOutcome Parse(string word) => word switch
    {
        "stored" => CollectOutcome.Stored,
        "not_modified" => CollectOutcome.NotModified,
        _ => CollectOutcome.Failed,
    };

    // Settable properties, not a positional record: SQLite types a NULL aggregate as a blob, and only
    // property mapping lets Dapper read it as a missing number.
    private sealed class SummaryRow
    {
        public long? LastSuccessAt { get; set; }
        public long? LastErrorId { get; set; }
        public long ConsecutiveFailures { get; set; }
    }

    private sealed record RunRow(long At, string Outcome, long Papers, long Added, string? Error);

    private sealed record ErrorRow(long At, string? Error);
}
