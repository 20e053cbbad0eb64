using System.Data.Common;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Storage;

namespace Newsletter.Issues;

/// <summary>
/// Freezes what <see cref="DigestGroups"/> chose, inside the composer's transaction: the date's
/// issue, each digest with its papers, one ledger row per reader (their Message-ID fixed now), the
/// skips with their reasons, and every reader's cursor moved to the compose time.
/// </summary>
internal sealed class DigestFreezer(Database database, IssueStore issues, IOptions<NewsletterOptions> options)
{
    private const string InsertDigestSql = """
        INSERT INTO digests (issue_id, cadence, window_start, window_end, created_at) VALUES (@issueId, @cadence, @windowStart, @windowEnd, @now)
        RETURNING id
        """;

    private const string InsertDigestEntrySql = "INSERT INTO digest_entries (digest_id, position, entry_id, why, compact) VALUES (@digestId, @position, @entryId, @why, @compact)";

    // The Message-ID is fixed here, before any attempt, so every resend carries the same one. It
    // is random (no subscriber or issue id in it: those would tell anyone the list's size).
    // 24 random hex digits per row: SQLite's randomblob; on PostgreSQL gen_random_uuid (core since
    // 13, a strong random source), whose hex digits are taken the same length (as IssueStore on main did).
    private const string FanOutSqlTemplate = """
        INSERT INTO deliveries (issue_id, subscriber_id, message_id, status, next_attempt_at, created_at, digest_id)
        SELECT @issueId, id, '<digest.' || @compactDate || '.' || {random} || '@' || @domain || '>', 'pending', @now, @now, @digestId
        FROM subscribers WHERE id IN @ids ORDER BY id
        """;

    private static readonly string SqliteFanOutSql = FanOutSqlTemplate.Replace("{random}", "lower(hex(randomblob(12)))", StringComparison.Ordinal);

    private static readonly string PostgresFanOutSql = FanOutSqlTemplate.Replace("{random}", "substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)", StringComparison.Ordinal);

    // A reader skipped by a morning send-now and again at their hour keeps one row: the latest look, its reason and time.
    private const string SkipSql = """
        INSERT INTO digest_skips (issue_date, subscriber_id, reason, created_at)
        SELECT @date, id, @reason, @now FROM subscribers WHERE id IN @ids
        ON CONFLICT (issue_date, subscriber_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at
        """;

    private const string AdvanceSql = "UPDATE subscribers SET served_until = @until, last_digest_id = @digestId WHERE id IN @ids";

    /// <summary>
    /// Stores one batch's digests (a digest an earlier batch of the same compose stored is joined, not stored again)
    /// and skips, and moves the batch's readers' cursors. Their ledger rows wait for <see cref="FanOutAsync"/>.
    /// </summary>
    public async Task FreezeAsync(DbConnection connection, DbTransaction transaction, DateOnly date, long now, DigestLimits limits,
        IReadOnlyCollection<ComposedDigest> digests, Dictionary<string, List<long>> skipped, ComposeTotals total, FrozenDigests frozen)
    {
        if (digests.Count > 0)
        {
            if (!frozen.Issues.TryGetValue(date, out var issueId))
                frozen.Issues[date] = issueId = (await issues.CreateAsync(connection, transaction, date, DbTime.FromDb(now))).Id!.Value;
            foreach (var composed in digests)
            {
                if (!frozen.Digests.TryGetValue((date, composed.Signature), out var digestId))
                {
                    digestId = await connection.ExecuteScalarAsync<long>(InsertDigestSql,
                        new { issueId, cadence = composed.Cadence, windowStart = composed.WindowStart, windowEnd = now, now }, transaction);
                    await connection.ExecuteAsync(InsertDigestEntrySql,
                        composed.Papers.Select((p, i) => new { digestId, position = i + 1, entryId = p.Paper.Id, why = p.Why, compact = composed.Places[i] }), transaction);
                    frozen.Digests[(date, composed.Signature)] = digestId;
                    frozen.Stored[digestId] = (issueId, date);
                    Count(composed, total);
                }
                foreach (var reader in composed.Readers)
                    frozen.Waiting.Add((digestId, reader));
                foreach (var ids in composed.Readers.Chunk(PaperWindow.Chunk))
                    await connection.ExecuteAsync(database.InList(AdvanceSql), new { until = now, digestId = (long?)digestId, ids }, transaction);
            }
        }
        var dateText = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        foreach (var (reason, ids) in skipped)
        {
            foreach (var chunk in ids.Order().Chunk(PaperWindow.Chunk))
            {
                var count = await connection.ExecuteAsync(database.InList(SkipSql), new { date = dateText, reason, now, ids = chunk }, transaction);
                total.NothingNew += count;
                total.Skip(reason, count);
                await connection.ExecuteAsync(database.InList(AdvanceSql), new { until = now, digestId = (long?)null, ids = chunk }, transaction);
            }
        }
    }

    /// <summary>
    /// One ledger row per reader of every digest the compose stored (each Message-ID fixed now), a digest's readers
    /// together in id order: a claim in id order meets one digest after another, so the sender holds a few at a time.
    /// </summary>
    public async Task FanOutAsync(DbConnection connection, DbTransaction transaction, long now, FrozenDigests frozen, ComposeTotals total)
    {
        var from = options.Value.From.Address;
        var domain = from[(from.LastIndexOf('@') + 1)..];
        var sql = database.InList(database.Sql(SqliteFanOutSql, PostgresFanOutSql));
        // By digest, then reader: (digest, reader) pairs rather than a list per digest, as a compose where every
        // reader learns stores a digest per reader.
        var waiting = frozen.Waiting;
        waiting.Sort();
        for (var start = 0; start < waiting.Count;)
        {
            var digestId = waiting[start].DigestId;
            var end = start;
            while (end < waiting.Count && waiting[end].DigestId == digestId && end - start < PaperWindow.Chunk)
                end++;
            var (issueId, date) = frozen.Stored[digestId];
            var ids = new long[end - start];
            for (var i = start; i < end; i++)
                ids[i - start] = waiting[i].Reader;
            total.Deliveries += await connection.ExecuteAsync(sql,
                new { issueId, compactDate = date.ToString("yyyyMMdd", CultureInfo.InvariantCulture), domain, now, digestId, ids }, transaction);
            start = end;
        }
        waiting.Clear();
    }

    /// <summary>A newly stored digest's papers in the compose's counts (shown in full, listed, carried).</summary>
    private static void Count(ComposedDigest composed, ComposeTotals total)
    {
        for (var i = 0; i < composed.Papers.Count; i++)
        {
            var id = composed.Papers[i].Paper.Id;
            var place = composed.Places[i];
            (place == 0 ? total.Full : place == 1 ? total.Papers : total.Overflow).Add(id);
            if (place == 0)
                total.Papers.Add(id);
        }
        total.Groups++;
    }
}

/// <summary>
/// What one compose has stored so far: each date's issue, each digest by its content (a later batch of readers with the
/// same digest joins it), and the (digest, reader) pairs whose ledger rows <see cref="DigestFreezer.FanOutAsync"/> writes.
/// </summary>
internal sealed class FrozenDigests
{
    public Dictionary<DateOnly, long> Issues { get; } = [];

    public Dictionary<(DateOnly Date, UInt128 Signature), long> Digests { get; } = [];

    public Dictionary<long, (long IssueId, DateOnly Date)> Stored { get; } = [];

    public List<(long DigestId, long Reader)> Waiting { get; } = [];
}
