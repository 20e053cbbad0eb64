using Dapper;
using Newsletter.Storage;

namespace Newsletter.Delivery;

/// <summary>What became of one day's deliveries (the day of the issue they belong to).</summary>
/// <param name="Deferred">Waiting for a retry after a transient failure.</param>
/// <param name="Waiting">Not attempted yet.</param>
public sealed record DayOutcomes(string Date, long Sent, long Deferred, long Bounced, long Expired, long Skipped, long Waiting)
{
    public long Total => Sent + Deferred + Bounced + Expired + Skipped + Waiting;
}

/// <summary>One run that sends (an instance, or a <c>send-now</c>): its claims now and its pace.</summary>
public sealed record SenderShare(string Owner, string Host, long? Pid, DateTimeOffset? HeartbeatAt, long Holding, long SentLastMinutes, double PerSecond);

/// <summary>The send in progress: every issue with deliveries still to go, counted together.</summary>
/// <param name="Done">Finished deliveries of those issues (sent, bounced, expired, skipped).</param>
/// <param name="PerSecond">Sent per second over the last <see cref="LedgerReport.RateWindow"/>, all instances together.</param>
public sealed record SendInProgress(IReadOnlyList<string> Dates, long Done, long Total, long Deferred, double PerSecond, TimeSpan? Eta, IReadOnlyList<SenderShare> Senders)
{
    public bool Running => Total > Done;
}

/// <summary>A delivery refused by the relay or the reader's server, with its reason.</summary>
/// <param name="Permanent">Bounced (counts against the address) rather than deferred for a retry.</param>
public sealed record LedgerRefusal(long SubscriberId, string Email, string Date, string Status, bool Permanent, long Attempts, string Reason);

/// <summary>
/// The ledger as the operator's console reads it: outcomes per day, the send in progress and who
/// sends it, recent refusals. Reads only; each query is bounded by an index or a date range.
/// </summary>
public sealed class LedgerReport(Database database, TimeProvider time)
{
    /// <summary>The window the send rate is measured over.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);

    // Per issue date: the ledger keeps no time of a bounce or an expiry, but every row belongs to
    // the issue of one day, which is what an operator asks about ("what became of Monday's send").
    private const string OutcomesSql = """
        SELECT i.issue_date AS Date, d.status AS Status, CAST(CASE WHEN d.attempts > 0 THEN 1 ELSE 0 END AS BIGINT) AS Tried, COUNT(*) AS Count
        FROM deliveries d JOIN issues i ON i.id = d.issue_id
        WHERE i.issue_date >= @since AND NOT (i.issue_date IN @known)
        GROUP BY i.issue_date, d.status, CASE WHEN d.attempts > 0 THEN 1 ELSE 0 END
        """;

    /// <summary>How long a finished day's counts are reused before they are counted again (a removed reader takes their rows along).</summary>
    public static readonly TimeSpan FinishedDayReuse = TimeSpan.FromMinutes(10);

    // Counting a day reads all of its rows (about 0.7 s per million on SQLite, measured): a day whose
    // deliveries are all finished does not change, so it is counted once per FinishedDayReuse.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DayOutcomes Day, DateTimeOffset CountedAt)> _finished = new(StringComparer.Ordinal);

    // The issues with work left (an index range on (status, id)), then all of their rows.
    private const string ProgressSql = """
        SELECT i.issue_date AS Date, d.status AS Status, CAST(CASE WHEN d.attempts > 0 THEN 1 ELSE 0 END AS BIGINT) AS Tried, COUNT(*) AS Count
        FROM deliveries d JOIN issues i ON i.id = d.issue_id
        WHERE d.issue_id IN (SELECT issue_id FROM deliveries WHERE status IN ('pending', 'sending'))
        GROUP BY i.issue_date, d.status, CASE WHEN d.attempts > 0 THEN 1 ELSE 0 END
        """;

    // The pace of the send in progress: the rows of the issues with work left that were sent lately.
    private const string SentSinceSql = """
        SELECT COALESCE(sent_by, '') AS Owner, COUNT(*) AS Count FROM deliveries
        WHERE status = 'sent' AND sent_at >= @since AND issue_id IN (SELECT issue_id FROM deliveries WHERE status IN ('pending', 'sending'))
        GROUP BY COALESCE(sent_by, '')
        """;

    private const string HoldingSql = "SELECT COALESCE(lease_owner, '') AS Owner, COUNT(*) AS Count FROM deliveries WHERE status = 'sending' GROUP BY COALESCE(lease_owner, '')";

    private const string OwnersSql = "SELECT id AS Id, host AS Host, pid AS Pid, heartbeat_at AS HeartbeatAt FROM run_owners";

    // Refusals carry their reason in last_error: bounced rows, and pending rows that failed before.
    // Newest first by id, over the (status, id) index.
    private const string RefusalsSql = """
        SELECT d.subscriber_id AS SubscriberId, s.email AS Email, i.issue_date AS Date, d.status AS Status, d.attempts AS Attempts, d.last_error AS Reason
        FROM deliveries d JOIN issues i ON i.id = d.issue_id JOIN subscribers s ON s.id = d.subscriber_id
        WHERE d.id IN (
            SELECT id FROM (SELECT id FROM deliveries WHERE status = 'bounced' ORDER BY id DESC LIMIT @limit) b
            UNION ALL
            SELECT id FROM (SELECT id FROM deliveries WHERE status = 'pending' AND attempts > 0 AND last_error IS NOT NULL ORDER BY id DESC LIMIT @limit) p)
        ORDER BY d.id DESC LIMIT @limit
        """;

    private sealed class CountRow
    {
        public string Date { get; set; } = "";
        public string Status { get; set; } = "";
        public long Tried { get; set; }
        public long Count { get; set; }
    }

    /// <summary>Each issue day since <paramref name="since"/> (oldest first) with the outcome of its deliveries.</summary>
    public async Task<IReadOnlyList<DayOutcomes>> OutcomesAsync(DateOnly since, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var first = Iso(since);
        var known = _finished.Where(f => string.CompareOrdinal(f.Key, first) >= 0 && now - f.Value.CountedAt < FinishedDayReuse).Select(f => f.Value.Day).ToList();
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<CountRow>(new CommandDefinition(database.InList(OutcomesSql),
            new { since = first, known = known.Select(d => d.Date).ToArray() }, cancellationToken: cancellationToken));
        var counted = Days(rows);
        // Finished, and old enough that no reader's hour can still add a delivery to it in any time zone.
        var settled = Iso(DateOnly.FromDateTime(now.UtcDateTime).AddDays(-2));
        foreach (var day in counted.Where(d => d.Deferred == 0 && d.Waiting == 0 && string.CompareOrdinal(d.Date, settled) <= 0))
            _finished[day.Date] = (day, now);
        return counted.Concat(known).OrderBy(d => d.Date, StringComparer.Ordinal).ToList();
    }

    private static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static List<DayOutcomes> Days(IEnumerable<CountRow> rows) =>
        rows.GroupBy(r => r.Date).OrderBy(g => g.Key, StringComparer.Ordinal).Select(day =>
        {
            long Count(Func<CountRow, bool> match) => day.Where(match).Sum(r => r.Count);
            return new DayOutcomes(day.Key,
                Count(r => r.Status == DeliveryStatus.Sent),
                Count(r => r.Status is DeliveryStatus.Pending or DeliveryStatus.Sending && r.Tried == 1),
                Count(r => r.Status == DeliveryStatus.Bounced),
                Count(r => r.Status == DeliveryStatus.Expired),
                Count(r => r.Status == DeliveryStatus.Skipped),
                Count(r => r.Status is DeliveryStatus.Pending or DeliveryStatus.Sending && r.Tried == 0));
        }).ToList();

    /// <summary>The send in progress (nothing running: zero of zero), its rate, and each sending run's share.</summary>
    public async Task<SendInProgress> ProgressAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        var days = Days(await connection.QueryAsync<CountRow>(new CommandDefinition(ProgressSql, cancellationToken: cancellationToken)));
        var sent = (await connection.QueryAsync<(string Owner, long Count)>(new CommandDefinition(SentSinceSql,
            new { since = DbTime.ToDb(now - RateWindow) }, cancellationToken: cancellationToken))).ToDictionary(r => r.Owner, r => r.Count);
        var holding = (await connection.QueryAsync<(string Owner, long Count)>(new CommandDefinition(HoldingSql, cancellationToken: cancellationToken))).ToDictionary(r => r.Owner, r => r.Count);
        var owners = (await connection.QueryAsync<(string Id, string Host, long Pid, long HeartbeatAt)>(new CommandDefinition(OwnersSql, cancellationToken: cancellationToken))).ToDictionary(o => o.Id);

        var senders = owners.Keys.Concat(sent.Keys).Concat(holding.Keys).Distinct().Select(id =>
        {
            var known = owners.TryGetValue(id, out var owner);
            var count = sent.GetValueOrDefault(id);
            return new SenderShare(id.Length == 0 ? "(unrecorded)" : id, known ? owner.Host : HostOf(id), known ? owner.Pid : PidOf(id),
                known ? DbTime.FromDb(owner.HeartbeatAt) : null, holding.GetValueOrDefault(id), count, count / RateWindow.TotalSeconds);
        }).Where(s => s.Holding > 0 || s.SentLastMinutes > 0 || s.HeartbeatAt is not null).OrderBy(s => s.Owner, StringComparer.Ordinal).ToList();

        var total = days.Sum(d => d.Total);
        var done = days.Sum(d => d.Sent + d.Bounced + d.Expired + d.Skipped);
        var rate = sent.Values.Sum() / RateWindow.TotalSeconds;
        TimeSpan? eta = rate > 0 && total > done ? TimeSpan.FromSeconds(Math.Ceiling((total - done) / rate)) : null;
        return new SendInProgress(days.Select(d => d.Date).ToList(), done, total, days.Sum(d => d.Deferred), rate, eta, senders);
    }

    /// <summary>The host part of a run owner's id (<c>host/pid/run</c>, see <see cref="RunOwner"/>) when the owner row is gone (the run ended).</summary>
    private static string HostOf(string owner) => owner.Split('/') is [var host, ..] && host.Length > 0 ? host : "?";

    private static long? PidOf(string owner) => owner.Split('/') is [_, var pid, ..] && long.TryParse(pid, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>The newest refusals, bounced and deferred, with the reader and the reason.</summary>
    public async Task<IReadOnlyList<LedgerRefusal>> RecentRefusalsAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long SubscriberId, string Email, string Date, string Status, long Attempts, string? Reason)>(
            new CommandDefinition(RefusalsSql, new { limit }, cancellationToken: cancellationToken));
        return rows.Select(r => new LedgerRefusal(r.SubscriberId, r.Email, r.Date, r.Status, r.Status == DeliveryStatus.Bounced, r.Attempts, r.Reason ?? "")).ToList();
    }
}
