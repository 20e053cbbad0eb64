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

    private static readonly string AllReadersSql = ReadersSql.Replace("{only}", "", StringComparison.Ordinal);

    // A separate text rather than "@only IS NULL OR ...": PostgreSQL cannot type a parameter that is only compared with NULL.
    private static readonly string OneReaderSql = ReadersSql.Replace("{only}", "AND id = @only", StringComparison.Ordinal);

    private const string SentOnSql = """
        SELECT d.subscriber_id FROM deliveries d JOIN issues i ON i.id = d.issue_id WHERE i.issue_date = @date
        """;

    private const string SkippedOnSql = "SELECT subscriber_id AS Id, created_at AS At, reason AS Reason FROM digest_skips WHERE issue_date = @date";

    /// <summary>
    /// The due readers by local date; a date asked for is there even when nobody is due on it.
    /// <paramref name="notOnDate"/>: active readers left out because a date asked for is not one of their days.
    /// </summary>
    /// <param name="only">One reader (a preview), or everyone.</param>
    public static async Task<(Dictionary<DateOnly, List<DueReader>> Due, int NotOnDate)> ByDateAsync(DbConnection connection, DbTransaction? transaction,
        DateOnly? date, ReaderClock clock, long? only, CancellationToken cancellationToken)
    {
        var parsed = new Dictionary<string, Preferences>(StringComparer.Ordinal);
        var due = new Dictionary<DateOnly, List<DueReader>>();
        var notOnDate = 0;
        await foreach (var row in connection.QueryUnbufferedAsync<ReaderRow>(only is null ? AllReadersSql : OneReaderSql, new { only }, transaction).WithCancellation(cancellationToken))
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
        if (date is { } forced && !due.ContainsKey(forced))
            due[forced] = [];
        return (due, notOnDate);
    }

    /// <summary>
    /// Of the readers due on <paramref name="date"/>, those still to be composed for, and why each
    /// other one is done for that date: a digest of it is in the ledger, or their scheduled look
    /// found nothing for them (a skip recorded at or after their send time). A skip recorded
    /// before their send time (a manual <c>send-now</c> in the morning) settles nothing.
    /// The compose counts the readers done; a preview asks their <paramref name="reasons"/> (one reader).
    /// </summary>
    public static async Task<(List<DueReader> Pending, int Done)> PendingAsync(DbConnection connection, DbTransaction? transaction,
        DateOnly date, IEnumerable<DueReader> readers, ReaderClock clock, Dictionary<long, string>? reasons = null)
    {
        var dateText = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var sent = (await connection.QueryAsync<long>(SentOnSql, new { date = dateText }, transaction)).ToHashSet();
        var skipped = (await connection.QueryAsync<(long Id, long At, string Reason)>(SkippedOnSql, new { date = dateText }, transaction)).ToDictionary(s => s.Id);
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
