using System.Data.Common;
using System.Globalization;
using Dapper;
using Newsletter.Model;

namespace Newsletter.Issues;

/// <summary>A reader due for a digest: where their cursor stands, their previous digest and what they asked for.</summary>
internal sealed record DueReader(long Id, long ServedUntil, long? LastDigestId, Preferences Preferences);

/// <summary>
/// Decides who is due: every active, unpaused reader whose local send time has come (by the
/// <see cref="ReaderClock"/>), or, for a date asked for, whose days include it; less those already
/// served that date (a digest or a recorded skip).
/// </summary>
internal static class DueReaders
{
    private const string ReadersSql = """
        SELECT id AS Id, COALESCE(served_until, created_at) AS ServedUntil, last_digest_id AS LastDigestId,
               topics AS Topics, keywords AS Keywords, exclude_keywords AS ExcludeKeywords, authors AS Authors, min_score AS MinScore,
               time_zone AS TimeZone, send_hour AS SendHour, weekdays AS Weekdays, cadence AS Cadence, weekly_day AS WeeklyDay
        FROM subscribers WHERE status = 'active' AND paused = 0 ORDER BY id
        """;

    private const string ServedOnSql = """
        SELECT d.subscriber_id FROM deliveries d JOIN issues i ON i.id = d.issue_id WHERE i.issue_date = @date
        UNION SELECT subscriber_id FROM digest_skips WHERE issue_date = @date
        """;

    /// <summary>The due readers by local date; a date asked for is there even when nobody is due on it.</summary>
    public static async Task<Dictionary<DateOnly, List<DueReader>>> ByDateAsync(DbConnection connection, DbTransaction transaction,
        DateOnly? date, ReaderClock clock, CancellationToken cancellationToken)
    {
        var parsed = new Dictionary<string, Preferences>(StringComparer.Ordinal);
        var due = new Dictionary<DateOnly, List<DueReader>>();
        await foreach (var row in connection.QueryUnbufferedAsync<ReaderRow>(ReadersSql, transaction: transaction).WithCancellation(cancellationToken))
        {
            var key = row.Key();
            if (!parsed.TryGetValue(key, out var preferences))
                parsed[key] = preferences = row.ToPreferences();
            if ((date ?? clock.DueDate(preferences)) is not { } readerDate || !preferences.WantsDigestOn(readerDate))
                continue;
            if (!due.TryGetValue(readerDate, out var list))
                due[readerDate] = list = [];
            list.Add(new DueReader(row.Id, row.ServedUntil, row.LastDigestId, preferences));
        }
        if (date is { } forced && !due.ContainsKey(forced))
            due[forced] = [];
        return due;
    }

    /// <summary>The readers already served on <paramref name="date"/>: a digest in the ledger, or a skip.</summary>
    public static async Task<HashSet<long>> ServedOnAsync(DbConnection connection, DbTransaction transaction, DateOnly date) =>
        (await connection.QueryAsync<long>(ServedOnSql, new { date = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }, transaction)).ToHashSet();

    private sealed class ReaderRow : PreferenceColumns
    {
        public long Id { get; set; }
        public long ServedUntil { get; set; }
        public long? LastDigestId { get; set; }

        /// <summary>The stored preferences as one text, so that 100,000 readers in a few groups parse a few times.</summary>
        public string Key() => string.Join('\u001f', Topics, Keywords, ExcludeKeywords, Authors, MinScore, TimeZone, SendHour, Weekdays, Cadence, WeeklyDay);
    }
}
