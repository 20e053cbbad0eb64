using System.Data.Common;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Storage;
using Newsletter.Subscriptions;

namespace Newsletter.Bounces;

/// <summary>What recording one mailbox message did.</summary>
public enum BounceOutcome { Recorded, AlreadyCounted }

/// <summary>
/// Writes what a bounce-mailbox message says, once: the event row (unique per mailbox message)
/// and its effects commit in one transaction, so a message read again after a crash, or by a
/// second instance, changes nothing. A hard bounce marks its delivery <c>bounced</c> and counts
/// against the address (suspended at <c>Bounces:MaxHardBounces</c>, at once for a bad address); a
/// complaint or a mail unsubscribe unsubscribes the reader at once; a soft bounce is only kept.
/// Suspended and complaining addresses go on the suppression list (<see cref="SuppressionList"/>).
/// After a complaint the complaint rate over the last digests is checked and may hold sending.
/// </summary>
public sealed class BounceRecorder(Database database, SendHold hold, IOptions<BounceOptions> options, TimeProvider time, ILogger<BounceRecorder> logger)
{
    private const string InsertEventSql = """
        INSERT INTO bounce_events (mailbox_key, kind, delivery_id, subscriber_id, status, detail, received_at)
        VALUES (@key, @kind, @deliveryId, @subscriberId, @status, @detail, @now)
        ON CONFLICT (mailbox_key) DO NOTHING
        """;

    private const string DeliveryByIdSql = "SELECT id AS Id, subscriber_id AS SubscriberId FROM deliveries WHERE id = @id";

    // Message-IDs are stored with their angle brackets.
    private const string DeliveryByMessageIdSql = "SELECT id AS Id, subscriber_id AS SubscriberId FROM deliveries WHERE message_id = @messageId";

    // Only a delivery the relay took: one bounce per delivery counts, whatever else arrives about it.
    private const string BounceDeliverySql = "UPDATE deliveries SET status = 'bounced', last_error = @detail WHERE id = @id AND status = 'sent'";

    private const string CountHardBounceSql = """
        UPDATE subscribers SET hard_bounces = hard_bounces + 1,
            status = CASE WHEN hard_bounces + 1 >= @max OR @badAddress = 1 THEN 'bounced' ELSE status END,
            status_reason = CASE WHEN hard_bounces + 1 >= @max OR @badAddress = 1 THEN @reason ELSE status_reason END
        WHERE id = @id AND status = 'active'
        """;

    private const string UnsubscribeSql = """
        UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = @now, status_reason = @reason
        WHERE id = @id AND status IN ('active', 'pending')
        """;

    // The send time of the Nth latest digest sent: the window's start.
    private const string WindowStartSql = """
        SELECT MIN(sent_at) FROM (SELECT sent_at FROM deliveries WHERE sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT @window) latest
        """;

    private const string WindowCountsSql = """
        SELECT (SELECT COUNT(*) FROM deliveries WHERE sent_at IS NOT NULL AND sent_at >= @since) AS Sent,
               (SELECT COUNT(*) FROM bounce_events WHERE kind = 'complaint' AND received_at >= @since) AS Complaints
        """;

    private sealed record DeliveryRow(long Id, long SubscriberId);

    public async Task<BounceOutcome> RecordAsync(BounceReport report, string mailboxKey, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var delivery = await FindDeliveryAsync(connection, transaction, report);
        var subscriberId = delivery?.SubscriberId ?? report.SubscriberId;
        var kind = KindWord(report.Kind);
        var inserted = await connection.ExecuteAsync(InsertEventSql, new
        {
            key = mailboxKey, kind, deliveryId = delivery?.Id, subscriberId, status = report.Status, detail = report.Detail, now,
        }, transaction);
        if (inserted == 0)
            return BounceOutcome.AlreadyCounted;

        switch (report.Kind)
        {
            case BounceKind.HardBounce when subscriberId is { } id:
                // Counted once per delivery; a bounce naming only the reader (no delivery) counts too.
                var counts = delivery is null || await connection.ExecuteAsync(BounceDeliverySql, new { id = delivery.Id, detail = $"bounced later: {report.Detail}" }, transaction) == 1;
                if (counts)
                {
                    await connection.ExecuteAsync(CountHardBounceSql, new
                    {
                        id, max = settings.MaxHardBounces, badAddress = report.BadAddress ? 1 : 0, reason = $"bounced: {report.Detail}",
                    }, transaction);
                    await connection.ExecuteAsync(SuppressionList.SuppressBouncedReaderSql, new { id, detail = report.Detail, now }, transaction);
                }
                break;
            case BounceKind.Complaint when subscriberId is { } id:
                await connection.ExecuteAsync(UnsubscribeSql, new { id, now, reason = $"complained: {report.Detail}" }, transaction);
                await connection.ExecuteAsync(SuppressionList.SuppressComplainedReaderSql, new { id, detail = report.Detail, now }, transaction);
                break;
            case BounceKind.MailUnsubscribe when subscriberId is { } id:
                await connection.ExecuteAsync(UnsubscribeSql, new { id, now, reason = "unsubscribed by mail" }, transaction);
                break;
        }
        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Bounce mailbox: {Kind} for delivery {Delivery}, subscriber {Subscriber}: {Detail}", kind, delivery?.Id, subscriberId, report.Detail);
        if (report.Kind == BounceKind.Complaint)
            await CheckComplaintRateAsync(cancellationToken);
        return BounceOutcome.Recorded;
    }

    private static async Task<DeliveryRow?> FindDeliveryAsync(DbConnection connection, DbTransaction transaction, BounceReport report)
    {
        if (report.DeliveryId is { } id && await connection.QuerySingleOrDefaultAsync<DeliveryRow>(DeliveryByIdSql, new { id }, transaction) is { } byId)
            return byId;
        if (report.OriginalMessageId is { Length: > 0 } messageId)
            return await connection.QuerySingleOrDefaultAsync<DeliveryRow>(DeliveryByMessageIdSql, new { messageId = $"<{messageId.Trim('<', '>')}>" }, transaction);
        return null;
    }

    /// <summary>
    /// Complaints against the last <c>Bounces:ComplaintWindow</c> digests sent: above
    /// <c>Bounces:MaxComplaintRate</c> (with enough digests to judge) sending is held for every instance.
    /// </summary>
    public async Task<(long Sent, long Complaints)> CheckComplaintRateAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var connection = await database.OpenAsync(cancellationToken);
        var since = await connection.ExecuteScalarAsync<long?>(WindowStartSql, new { window = settings.ComplaintWindow });
        if (since is null)
            return (0, 0);
        var (sent, complaints) = await connection.QuerySingleAsync<(long Sent, long Complaints)>(WindowCountsSql, new { since });
        if (sent >= settings.MinDigestsForComplaintRate && complaints > settings.MaxComplaintRate * sent)
        {
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"{complaints} complaints over the last {sent} digests ({100.0 * complaints / sent:0.##}%) passed Bounces:MaxComplaintRate ({100 * settings.MaxComplaintRate:0.##}%); receivers start refusing a sender above it. Look at what readers are reporting and who is on the list");
            await hold.HoldAsync(reason, cancellationToken);
            logger.LogError("Sending held: {Reason}", reason);
        }
        return (sent, complaints);
    }

    public static string KindWord(BounceKind kind) => kind switch
    {
        BounceKind.HardBounce => "hard",
        BounceKind.SoftBounce => "soft",
        BounceKind.Complaint => "complaint",
        BounceKind.MailUnsubscribe => "unsubscribe",
        _ => "other",
    };
}
