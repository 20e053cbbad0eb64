using Dapper;
using Newsletter.Storage;

namespace Newsletter.Delivery;

/// <summary>Ledger statuses.</summary>
public static class DeliveryStatus
{
    public const string Pending = "pending";   // waiting for its (next) attempt
    public const string Sending = "sending";   // claimed under a lease
    public const string Sent = "sent";         // the server answered 250
    public const string Bounced = "bounced";   // permanent refusal of this recipient
    public const string Expired = "expired";   // transient failures outlasted the retry window
    public const string Skipped = "skipped";   // the subscriber left before it was sent
}

/// <summary>A claimed delivery with what sending it needs.</summary>
/// <remarks><see cref="DigestId"/> is the group's frozen digest; null for ledger rows from before personal digests (the issue's own list).</remarks>
public sealed record ClaimedDelivery(long Id, long IssueId, long SubscriberId, string Email, string SubscriberStatus, string MessageId, long Attempts, long CreatedAt, long? DigestId);

/// <summary>The outcome of one attempt, written back by <see cref="DeliveryStore.RecordAsync"/>.</summary>
public sealed record DeliveryResult(long DeliveryId, long SubscriberId, string Status, string? Error, DateTimeOffset? NextAttemptAt);

/// <summary>
/// The delivery ledger: one row per (issue, subscriber). Claims take due rows under a lease;
/// rows whose lease ran out (a crashed sender) are due again, with their original Message-ID.
/// </summary>
public sealed class DeliveryStore(Database database, TimeProvider time)
{
    // Keyset paging: each claim continues after the previous one, so a run is one pass over the
    // ledger. Each branch is an index range on (status, id) that stops at the limit; an OR of the
    // two made SQLite collect and sort every pending row on every claim (quadratic at 1,000,000).
    // SQLite has one writer at a time, so the claim needs no row locks.
    private const string SqliteClaimSql = """
        UPDATE deliveries SET status = 'sending', lease_until = @leaseUntil, lease_owner = @owner, attempts = attempts + 1
        WHERE id IN (
            SELECT id FROM (
                SELECT id FROM (SELECT id FROM deliveries WHERE status = 'pending' AND id > @after AND next_attempt_at <= @now ORDER BY id LIMIT @limit)
                UNION ALL
                SELECT id FROM (SELECT id FROM deliveries WHERE status = 'sending' AND id > @after AND lease_until < @now ORDER BY id LIMIT @limit))
            ORDER BY id LIMIT @limit)
        RETURNING id
        """;

    // On PostgreSQL several instances claim from one ledger at once: SKIP LOCKED hands each of
    // them rows no other claimer holds, without waiting, and the row is re-checked after locking
    // (a row another instance has just leased no longer matches). The lease is as before.
    private const string PostgresClaimSql = """
        WITH due AS (
            SELECT id FROM deliveries
            WHERE id > @after AND ((status = 'pending' AND next_attempt_at <= @now) OR (status = 'sending' AND lease_until < @now))
            ORDER BY id LIMIT @limit
            FOR UPDATE SKIP LOCKED)
        UPDATE deliveries d SET status = 'sending', lease_until = @leaseUntil, lease_owner = @owner, attempts = d.attempts + 1
        FROM due WHERE d.id = due.id
        RETURNING d.id
        """;

    private const string ClaimedSql = """
        SELECT d.id AS Id, d.issue_id AS IssueId, d.subscriber_id AS SubscriberId, s.email AS Email, CASE WHEN s.paused = 1 THEN 'paused' ELSE s.status END AS SubscriberStatus,
               d.message_id AS MessageId, d.attempts AS Attempts, d.created_at AS CreatedAt, d.digest_id AS DigestId
        FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
        WHERE d.id IN @ids ORDER BY d.id
        """;

    private const string FinishSql = """
        UPDATE deliveries SET status = @Status, last_error = @Error, lease_until = NULL, lease_owner = NULL,
            sent_at = CASE WHEN @Status = 'sent' THEN @Now ELSE sent_at END,
            sent_by = CASE WHEN @Status = 'sent' THEN lease_owner ELSE sent_by END,
            next_attempt_at = COALESCE(@NextAttemptAt, next_attempt_at)
        WHERE id = @DeliveryId AND status = 'sending'
        """;

    // PostgreSQL: a whole group commit in one statement (one round trip instead of one per outcome,
    // which made a single instance 0.24x smtp-source). The rows are locked in id order first, as the
    // lease renewal takes them, so the two cannot deadlock; the 'sending' guard is FinishSql's.
    private const string PostgresFinishBatchSql = """
        WITH outcome AS (
            SELECT * FROM unnest(@ids, @statuses, @errors, @nextAttempts) AS u(id, status, error, next_attempt_at)),
        locked AS (
            SELECT id FROM deliveries WHERE id = ANY(@ids) AND status = 'sending' ORDER BY id FOR UPDATE)
        UPDATE deliveries d SET status = o.status, last_error = o.error, lease_until = NULL, lease_owner = NULL,
            sent_at = CASE WHEN o.status = 'sent' THEN @now ELSE d.sent_at END,
            sent_by = CASE WHEN o.status = 'sent' THEN d.lease_owner ELSE d.sent_by END,
            next_attempt_at = COALESCE(o.next_attempt_at, d.next_attempt_at)
        FROM outcome o JOIN locked l ON l.id = o.id
        WHERE d.id = o.id AND d.status = 'sending'
        """;

    // A suspended address goes on the suppression list in the same command (the SuppressionList of the subscriptions feature
    // reads it; Delivery keeps this copy of its SQL because it imports no feature).
    private const string CountBounceSql = """
        UPDATE subscribers SET hard_bounces = hard_bounces + 1,
            status = CASE WHEN hard_bounces + 1 >= @maxHardBounces THEN 'bounced' ELSE status END,
            status_reason = CASE WHEN hard_bounces + 1 >= @maxHardBounces THEN @reason ELSE status_reason END
        WHERE id = @subscriberId AND status = 'active';
        INSERT INTO suppressions (address_key, reason, detail, suppressed_at)
        SELECT email_key, 'hard-bounce', COALESCE(@reason, ''), @now FROM subscribers WHERE id = @subscriberId AND status = 'bounced'
        ON CONFLICT (address_key) DO NOTHING;
        """;

    private const string ReleaseSql = """
        UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL, attempts = attempts - 1
        WHERE id IN @ids AND status = 'sending'
        """;

    private const string RegisterOwnerSql = """
        INSERT INTO run_owners (id, host, pid, started_at, heartbeat_at) VALUES (@Id, @Host, @Pid, @StartedAt, @now)
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
        """;

    private const string HeartbeatSql = "UPDATE run_owners SET heartbeat_at = @now WHERE id = @id";

    private const string RemoveOwnerSql = "DELETE FROM run_owners WHERE id = @id";

    private const string OwnersSql = "SELECT id AS Id, host AS Host, pid AS Pid, started_at AS StartedAt, heartbeat_at AS HeartbeatAt FROM run_owners";

    // A dead owner's claims go back to the queue as they are: their attempt may or may not have
    // reached the relay, and the resend keeps the Message-ID. The (status, id) index keeps this to the claimed rows.
    private const string TakeOverSql = """
        UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL
        WHERE status = 'sending' AND lease_owner = @id
        """;

    private const string RenewSql = "UPDATE deliveries SET lease_until = @leaseUntil WHERE id IN @ids AND status = 'sending'";

    // PostgreSQL locks rows one by one: renewals and write-backs of one instance, running in
    // separate transactions, take them in id order so they queue behind each other instead of
    // deadlocking (SQLite has one writer at a time and needs none of this).
    private const string PostgresRenewSql = """
        UPDATE deliveries SET lease_until = @leaseUntil
        WHERE id IN (SELECT id FROM deliveries WHERE id = ANY(@ids) AND status = 'sending' ORDER BY id FOR UPDATE)
        """;

    // An issue older than MaxAge is news no more: its unsent deliveries expire instead of going out late.
    private const string ExpireStaleSql = """
        UPDATE deliveries SET status = 'expired', lease_until = NULL, last_error = 'not delivered within Delivery:MaxAge of composing'
        WHERE (status = 'pending' OR (status = 'sending' AND lease_until < @now))
          AND issue_id IN (SELECT id FROM issues WHERE composed_at < @cutoff)
        """;

    private const string CountsSql = "SELECT status AS Status, COUNT(*) AS Count FROM deliveries GROUP BY status ORDER BY status";

    private const string AnyDueSql = """
        SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= @now)
            OR EXISTS (SELECT 1 FROM deliveries WHERE status = 'sending' AND lease_until < @now)
        """;

    /// <summary>Claims up to <paramref name="limit"/> due deliveries with ids above <paramref name="after"/>, in id order.</summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(long after, int limit, TimeSpan lease, string owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var ids = (await connection.QueryAsync<long>(database.Sql(SqliteClaimSql, PostgresClaimSql),
            new { after, now = DbTime.ToDb(now), leaseUntil = DbTime.ToDb(now + lease), limit, owner }, transaction)).ToArray();
        var claimed = ids.Length == 0 ? [] : (await connection.QueryAsync<ClaimedDelivery>(database.InList(ClaimedSql), new { ids }, transaction)).ToList();
        await transaction.CommitAsync(cancellationToken);
        return claimed;
    }

    /// <summary>Writes a batch of outcomes in one transaction; a bounce also counts against the address.</summary>
    public async Task RecordAsync(IReadOnlyList<DeliveryResult> results, int maxHardBounces, CancellationToken cancellationToken)
    {
        if (results.Count == 0)
            return;
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var ordered = results.OrderBy(r => r.DeliveryId).ToList();
        if (database.IsPostgres)
        {
            await connection.ExecuteAsync(PostgresFinishBatchSql, new
            {
                ids = ordered.Select(r => r.DeliveryId).ToArray(),
                statuses = ordered.Select(r => r.Status).ToArray(),
                errors = ordered.Select(r => r.Error).ToArray(),
                nextAttempts = ordered.Select(r => r.NextAttemptAt is { } next ? DbTime.ToDb(next) : (long?)null).ToArray(),
                now,
            }, transaction);
            foreach (var result in ordered.Where(r => r.Status == DeliveryStatus.Bounced))
                await connection.ExecuteAsync(CountBounceSql, new { subscriberId = result.SubscriberId, maxHardBounces, reason = result.Error, now }, transaction);
            await transaction.CommitAsync(cancellationToken);
            return;
        }
        // SQLite: a statement is a function call, not a round trip; one per outcome costs little.
        foreach (var result in ordered)
        {
            await connection.ExecuteAsync(FinishSql, new
            {
                result.DeliveryId,
                result.Status,
                result.Error,
                Now = now,
                NextAttemptAt = result.NextAttemptAt is { } next ? DbTime.ToDb(next) : (long?)null,
            }, transaction);
            if (result.Status == DeliveryStatus.Bounced)
                await connection.ExecuteAsync(CountBounceSql, new { subscriberId = result.SubscriberId, maxHardBounces, reason = result.Error, now }, transaction);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Returns claimed but unattempted deliveries (a run that stopped early) to the queue.</summary>
    public async Task ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
            return;
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(database.InList(ReleaseSql), new { ids = ids.ToArray() });
    }

    public async Task RenewLeasesAsync(IReadOnlyCollection<long> ids, TimeSpan lease, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
            return;
        await using var connection = await database.OpenAsync(cancellationToken);
        // Chunks keep each statement well under SQLite's parameter limit.
        foreach (var chunk in ids.Order().Chunk(500))
            await connection.ExecuteAsync(database.Sql(RenewSql, PostgresRenewSql), new { ids = chunk, leaseUntil = DbTime.ToDb(time.GetUtcNow() + lease) });
    }

    /// <summary>Registers (or re-registers) a run as the owner of the claims it makes.</summary>
    public async Task RegisterOwnerAsync(RunOwner owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(RegisterOwnerSql, new { owner.Id, owner.Host, owner.Pid, owner.StartedAt, now = DbTime.ToDb(time.GetUtcNow()) });
    }

    public async Task HeartbeatAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(HeartbeatSql, new { id = owner, now = DbTime.ToDb(time.GetUtcNow()) });
    }

    public async Task RemoveOwnerAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(RemoveOwnerSql, new { id = owner });
    }

    public async Task<IReadOnlyList<StoredRunOwner>> OwnersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<StoredRunOwner>(OwnersSql)).ToList();
    }

    /// <summary>Returns a dead owner's claims to the queue and forgets the owner; how many claims it held.</summary>
    public async Task<int> TakeOverAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var taken = await connection.ExecuteAsync(TakeOverSql, new { id = owner }, transaction);
        await connection.ExecuteAsync(RemoveOwnerSql, new { id = owner }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return taken;
    }

    /// <summary>Marks the unsent deliveries of issues composed more than <paramref name="maxAge"/> ago as expired.</summary>
    public async Task<int> ExpireStaleAsync(TimeSpan maxAge, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(ExpireStaleSql, new { now = DbTime.ToDb(now), cutoff = DbTime.ToDb(now - maxAge) });
    }

    /// <summary>How many deliveries the ledger holds per status.</summary>
    public async Task<IReadOnlyList<(string Status, long Count)>> CountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<(string Status, long Count)>(CountsSql)).ToList();
    }

    /// <summary>Claimed deliveries per lease owner (null: an owner the ledger does not name).</summary>
    public async Task<IReadOnlyList<(string? Owner, long Count)>> HeldByOwnerAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<(string? Owner, long Count)>(
            new CommandDefinition("SELECT lease_owner, COUNT(*) FROM deliveries WHERE status = 'sending' GROUP BY lease_owner", cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Whether a dispatch would find work: an index lookup, cheap enough to ask every minute.</summary>
    public async Task<bool> AnyDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(AnyDueSql, new { now = DbTime.ToDb(time.GetUtcNow()) });
    }
}
