using System.Data.Common;
using System.Globalization;
using Dapper;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>A reader due for a digest: where their cursor stands, their previous digest and what they asked for.</summary>
internal sealed record DueReader(long Id, long ServedUntil, long? LastDigestId, Preferences Preferences, long CreatedAt)
{
    /// <summary>Never composed for yet: the cursor still stands where joining put it (at or before joining).</summary>
    public bool IsNew => ServedUntil <= CreatedAt;
}

/// <summary>The ids from <paramref name="First"/> to <paramref name="Last"/> (inclusive): one batch of readers.</summary>
internal readonly record struct ReaderRange(long First, long Last);

/// <summary>One batch of due readers by local date, the ids it covers, and how many of it a date asked for left out.</summary>
internal sealed record DueBatch(Dictionary<DateOnly, List<DueReader>> Due, int NotOnDate, ReaderRange Range);

/// <summary>
/// Decides who is due: every active, unpaused reader whose local send time has come (by the
/// <see cref="ReaderClock"/>), or, for a date asked for, whose days include it; less those already
/// sent a digest of that date. A reader skipped earlier that date (nothing new for them then) is
/// looked at again: a manual <c>send-now</c> in the morning must not take the scheduled digest away.
/// </summary>
internal static class DueReaders
{
    private const string ReadersSql = """
        SELECT id AS Id, COALESCE(served_until, created_at) AS ServedUntil, last_digest_id AS LastDigestId, created_at AS CreatedAt,
               topics AS Topics, keywords AS Keywords, exclude_keywords AS ExcludeKeywords, authors AS Authors, min_score AS MinScore,
               time_zone AS TimeZone, send_hour AS SendHour, weekdays AS Weekdays, cadence AS Cadence, weekly_day AS WeeklyDay,
               ranking AS Ranking, min_relevance AS MinRelevance
        FROM subscribers WHERE status = 'active' AND paused = 0 {only} ORDER BY id
        """;

    // One stretch of ids at a time (keyset: after the last id read), so a compose holds one batch of readers, not the list.
    private static readonly string BatchSql = ReadersSql.Replace("{only}", "AND id > @after", StringComparison.Ordinal) + " LIMIT @limit";

    // A separate text rather than "@only IS NULL OR ...": PostgreSQL cannot type a parameter that is only compared with NULL.
    private static readonly string OneReaderSql = ReadersSql.Replace("{only}", "AND id = @only", StringComparison.Ordinal);

    /// <summary>
    /// How many readers a compose holds at once. A million readers held together took ~320 MB at the compose's
    /// peak (a record each, the date's list, the pending list, the grouping); a batch of this many takes a few MB.
    /// </summary>
    public const int BatchSize = 20_000;

    // Preference sets parsed and kept for readers who share them; past this many distinct sets the cache starts again.
    private const int KeptPreferences = 10_000;

    private const string SentOnSql = """
        SELECT d.subscriber_id FROM deliveries d JOIN issues i ON i.id = d.issue_id
        WHERE i.issue_date = @date AND d.subscriber_id BETWEEN @first AND @last
        """;

    private const string SkippedOnSql = """
        SELECT subscriber_id AS Id, created_at AS At, reason AS Reason FROM digest_skips
        WHERE issue_date = @date AND subscriber_id BETWEEN @first AND @last
        """;

    /// <summary>
    /// Every due reader, in batches of ascending ids (<paramref name="batchSize"/> active readers read at a time), by local date.
    /// <see cref="DueBatch.NotOnDate"/>: active readers of the batch left out because a date asked for is not one of their days.
    /// </summary>
    public static async IAsyncEnumerable<DueBatch> BatchesAsync(DbConnection connection, DbTransaction? transaction,
        DateOnly? date, ReaderClock clock, int batchSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parsed = new Dictionary<string, Preferences>(StringComparer.Ordinal);
        var after = long.MinValue;
        while (true)
        {
            var rows = (await connection.QueryAsync<ReaderRow>(new CommandDefinition(BatchSql, new { after, limit = batchSize }, transaction,
                cancellationToken: cancellationToken))).AsList();
            if (rows.Count == 0)
                yield break;
            if (parsed.Count > KeptPreferences)
                parsed.Clear();
            yield return Sort(rows, date, clock, parsed);
            if (rows.Count < batchSize)
                yield break;
            after = rows[^1].Id;
        }
    }

    /// <summary>One reader (a preview) if they are due: by local date, or nothing.</summary>
    public static async Task<DueBatch> OneAsync(DbConnection connection, DbTransaction? transaction, long id, DateOnly date, ReaderClock clock)
    {
        var rows = (await connection.QueryAsync<ReaderRow>(OneReaderSql, new { only = id }, transaction)).AsList();
        return Sort(rows, date, clock, []);
    }

    private static DueBatch Sort(List<ReaderRow> rows, DateOnly? date, ReaderClock clock, Dictionary<string, Preferences> parsed)
    {
        var due = new Dictionary<DateOnly, List<DueReader>>();
        var notOnDate = 0;
        foreach (var row in rows)
        {
            var key = row.Key();
            if (!parsed.TryGetValue(key, out var preferences))
                parsed[key] = preferences = row.ToPreferences();
            if ((date ?? clock.DueDate(preferences)) is not { } readerDate)
                continue;
            if (!preferences.WantsDigestOn(readerDate))
            {
                notOnDate += date is null ? 0 : 1;
                continue;
            }
            if (!due.TryGetValue(readerDate, out var list))
                due[readerDate] = list = [];
            list.Add(new DueReader(row.Id, row.ServedUntil, row.LastDigestId, preferences, row.CreatedAt));
        }
        return new DueBatch(due, notOnDate, new ReaderRange(rows.Count == 0 ? 0 : rows[0].Id, rows.Count == 0 ? -1 : rows[^1].Id));
    }

    /// <summary>
    /// Of the readers due on <paramref name="date"/>, those still to be composed for, and why each
    /// other one is done for that date: a digest of it is in the ledger, or their scheduled look
    /// found nothing for them (a skip recorded at or after their send time). A skip recorded
    /// before their send time (a manual <c>send-now</c> in the morning) settles nothing.
    /// The compose counts the readers done; a preview asks their <paramref name="reasons"/> (one reader).
    /// </summary>
    /// <param name="range">The ids the <paramref name="readers"/> lie within (their batch): only that stretch of the ledger is read.</param>
    public static async Task<(List<DueReader> Pending, int Done)> PendingAsync(DbConnection connection, DbTransaction? transaction,
        DateOnly date, IEnumerable<DueReader> readers, ReaderRange range, ReaderClock clock, Dictionary<long, string>? reasons = null)
    {
        var dateText = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var args = new { date = dateText, first = range.First, last = range.Last };
        var sent = (await connection.QueryAsync<long>(SentOnSql, args, transaction)).ToHashSet();
        var skipped = (await connection.QueryAsync<(long Id, long At, string Reason)>(SkippedOnSql, args, transaction)).ToDictionary(s => s.Id);
        var pending = new List<DueReader>();
        var done = 0;
        // No text per reader unless asked: a list of a million composed again (every send-now and service
        // tick after the compose) held a million copies of the same sentence (~250 MB at its peak).
        foreach (var reader in readers)
        {
            if (sent.Contains(reader.Id))
            {
                done++;
                reasons?.Add(reader.Id, $"already sent their digest of {dateText}; nothing more goes to them for that date");
            }
            else if (skipped.TryGetValue(reader.Id, out var skip) && skip.At >= DbTime.ToDb(clock.SendInstant(reader.Preferences, date)))
            {
                done++;
                reasons?.Add(reader.Id, $"their digest of {dateText} was settled at their hour with nothing to send ({skip.Reason}); nothing more goes to them for that date");
            }
            else
                pending.Add(reader);
        }
        return (pending, done);
    }

    private sealed class ReaderRow : PreferenceColumns
    {
        public long Id { get; set; }
        public long ServedUntil { get; set; }
        public long? LastDigestId { get; set; }
        public long CreatedAt { get; set; }

        /// <summary>The stored preferences as one text, so that 100,000 readers in a few groups parse a few times.</summary>
        public string Key() => string.Join('\u001f', Topics, Keywords, ExcludeKeywords, Authors, MinScore, TimeZone, SendHour, Weekdays, Cadence, WeeklyDay, Ranking, MinRelevance);
    }
}
