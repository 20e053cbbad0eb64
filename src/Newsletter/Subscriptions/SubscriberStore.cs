using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Model;
using Newsletter.Storage;

namespace Newsletter.Subscriptions;

public enum AddOutcome { Added, AlreadyPresent, Activated }

/// <summary>
/// What a subscribe request led to: the reader (0 when none was stored), whether a confirmation mail is
/// due, and the suppression that stopped it (the answer to the visitor is the same either way).
/// </summary>
public sealed record SubscriptionRequest(long Id, bool SendConfirmation, Suppression? Suppressed = null)
{
    /// <summary>The reader and whether to mail them, for callers the suppression does not concern.</summary>
    public void Deconstruct(out long id, out bool sendConfirmation) => (id, sendConfirmation) = (Id, SendConfirmation);
}

/// <summary>Subscriber rows: administration and the reads the dispatcher needs.</summary>
public sealed class SubscriberStore(Database database, SuppressionList suppressions, TimeProvider time, IOptions<SubscriptionOptions> options)
{
    private const string Columns = """
        id AS Id, email AS Email, status AS Status, status_reason AS StatusReason, created_at AS CreatedAt, confirmed_at AS ConfirmedAt, paused AS Paused,
        pending_since AS PendingSince,
        topics AS Topics, keywords AS Keywords, exclude_keywords AS ExcludeKeywords, authors AS Authors, min_score AS MinScore, time_zone AS TimeZone,
        send_hour AS SendHour, weekdays AS Weekdays, cadence AS Cadence, weekly_day AS WeeklyDay, ranking AS Ranking, min_relevance AS MinRelevance
        """;

    private const string SelectByKeySql = $"SELECT {Columns} FROM subscribers WHERE email_key = @key";
    private const string SelectByIdSql = $"SELECT {Columns} FROM subscribers WHERE id = @id";
    private const string SelectAllSql = $"SELECT {Columns} FROM subscribers ORDER BY id";

    private const string InsertSql = """
        INSERT INTO subscribers (email, email_key, status, created_at, confirmed_at, pending_since, served_until,
            topics, keywords, exclude_keywords, authors, min_score, time_zone, send_hour, weekdays, cadence, weekly_day, ranking, min_relevance)
        VALUES (@email, @key, @status, @now, @confirmedAt, CASE WHEN @status = 'pending' THEN @now END, @servedFrom,
            @Topics, @Keywords, @ExcludeKeywords, @Authors, @MinScore, @TimeZone, @SendHour, @Weekdays, @Cadence, @WeeklyDay, @Ranking, @MinRelevance)
        """;

    // A returning reader's cursor: Subscriptions:NewReaderLookback before now, but never behind what
    // they were already served, so that nobody gets a paper twice.
    private const string ResumedCursor = "CASE WHEN COALESCE(served_until, created_at) > @servedFrom THEN COALESCE(served_until, created_at) ELSE @servedFrom END";

    private const string ActivateSql = $"""
        UPDATE subscribers SET status = 'active', confirmed_at = @now, unsubscribed_at = NULL, status_reason = NULL, hard_bounces = 0,
            served_until = CASE WHEN status = 'pending' THEN served_until ELSE {ResumedCursor} END
        WHERE id = @id
        """;

    private const string ToPendingSql = $"""
        UPDATE subscribers SET status = 'pending', pending_since = @now, status_reason = NULL,
            unsubscribed_at = NULL, hard_bounces = 0, paused = 0, served_until = {ResumedCursor},
            topics = @Topics, keywords = @Keywords, exclude_keywords = @ExcludeKeywords, authors = @Authors, min_score = @MinScore,
            time_zone = @TimeZone, send_hour = @SendHour, weekdays = @Weekdays, cadence = @Cadence, weekly_day = @WeeklyDay,
            ranking = @Ranking, min_relevance = @MinRelevance
        WHERE id = @id
        """;

    // An operator re-adds a suppressed reader without vouching for consent: they confirm again, and
    // the mail goes at once (an old confirmation_sent_at must not hold it back).
    private const string ReopenSql = $"""
        UPDATE subscribers SET status = 'pending', pending_since = @now, status_reason = NULL, unsubscribed_at = NULL,
            hard_bounces = 0, paused = 0, confirmation_sent_at = NULL, served_until = {ResumedCursor}
        WHERE email_key = @key AND status IN ('unsubscribed', 'bounced')
        """;

    private const string MarkConfirmationSentSql = "UPDATE subscribers SET confirmation_sent_at = @now WHERE id = @id";

    private const string TouchSql = "UPDATE subscribers SET confirmation_sent_at = confirmation_sent_at WHERE id = @id AND @now IS NOT NULL";

    // Only the episode the link was minted for: after an unsubscribe and a stranger's new
    // subscribe request, an old confirmation link must not activate anyone.
    private const string ConfirmSql = """
        UPDATE subscribers SET status = 'active', confirmed_at = @now, pending_since = NULL
        WHERE id = @id AND status = 'pending' AND pending_since = @episode
        """;

    // A second click on the same link: already active since that episode, nothing to do.
    private const string ConfirmedSinceSql = "SELECT COUNT(*) FROM subscribers WHERE id = @id AND status = 'active' AND confirmed_at >= @episode";

    private const string UnsubscribeSql = """
        UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = @now, status_reason = @reason
        WHERE id = @id AND status <> 'unsubscribed'
        """;

    // The preferences link was mailed to this address, so following it is proof enough to resume.
    private const string ResubscribeSql = $"""
        UPDATE subscribers SET status = 'active', unsubscribed_at = NULL, status_reason = NULL, paused = 0, served_until = {ResumedCursor}
        WHERE id = @id AND status = 'unsubscribed'
        """;

    private const string PreferencesSql = """
        UPDATE subscribers SET topics = @Topics, keywords = @Keywords, exclude_keywords = @ExcludeKeywords, authors = @Authors, min_score = @MinScore,
            time_zone = @TimeZone, send_hour = @SendHour, weekdays = @Weekdays, cadence = @Cadence, weekly_day = @WeeklyDay,
            ranking = @Ranking, min_relevance = @MinRelevance
        WHERE id = @id
        """;

    private const string PausedSql = "UPDATE subscribers SET paused = @paused WHERE id = @id";

    // Deliveries first: a purged re-subscriber may have history from an earlier subscription.
    private const string PurgeSql = """
        DELETE FROM deliveries WHERE subscriber_id IN (SELECT id FROM subscribers WHERE status = 'pending' AND pending_since < @before);
        DELETE FROM digest_skips WHERE subscriber_id IN (SELECT id FROM subscribers WHERE status = 'pending' AND pending_since < @before);
        DELETE FROM votes WHERE subscriber_id IN (SELECT id FROM subscribers WHERE status = 'pending' AND pending_since < @before);
        DELETE FROM subscribers WHERE status = 'pending' AND pending_since < @before;
        """;

    private const string DeleteSql = """
        DELETE FROM deliveries WHERE subscriber_id = @id;
        DELETE FROM digest_skips WHERE subscriber_id = @id;
        DELETE FROM votes WHERE subscriber_id = @id;
        DELETE FROM subscribers WHERE id = @id;
        """;

    /// <summary>
    /// Adds an address. With <paramref name="confirmed"/> the operator vouches for consent, so a
    /// pending, unsubscribed or bounced address becomes active again. Preferences given are stored
    /// for a new address and applied to a known one.
    /// </summary>
    public Task<(AddOutcome Outcome, Subscriber Subscriber)> AddAsync(EmailAddress address, bool confirmed, CancellationToken cancellationToken) =>
        AddAsync(address, confirmed, null, cancellationToken);

    /// <inheritdoc cref="AddAsync(EmailAddress, bool, CancellationToken)"/>
    public async Task<(AddOutcome Outcome, Subscriber Subscriber)> AddAsync(EmailAddress address, bool confirmed, PreferenceInput? preferences, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await database.SerializeAsync(connection, transaction, "subscriber " + address.Key);
        var now = DbTime.ToDb(time.GetUtcNow());
        var existing = (await connection.QuerySingleOrDefaultAsync<SubscriberRow>(SelectByKeySql, new { key = address.Key }, transaction))?.ToSubscriber();
        AddOutcome outcome;
        if (existing is null)
        {
            var initial = Apply(Preferences.None, preferences);
            await connection.ExecuteAsync(InsertSql, Parameters(initial, new
            {
                email = address.Address,
                key = address.Key,
                status = confirmed ? SubscriberStatus.Active : SubscriberStatus.Pending,
                now,
                confirmedAt = confirmed ? now : (long?)null,
                servedFrom = ServedFrom(now),
            }), transaction);
            outcome = AddOutcome.Added;
        }
        else
        {
            if (preferences is { IsEmpty: false })
                await connection.ExecuteAsync(PreferencesSql, Parameters(Apply(existing.Preferences, preferences), new { id = existing.Id }), transaction);
            if (confirmed && existing.Status != SubscriberStatus.Active)
            {
                await connection.ExecuteAsync(ActivateSql, new { id = existing.Id, now, servedFrom = ServedFrom(now) }, transaction);
                outcome = AddOutcome.Activated;
            }
            else
            {
                outcome = AddOutcome.AlreadyPresent;
            }
        }
        var subscriber = (await connection.QuerySingleAsync<SubscriberRow>(SelectByKeySql, new { key = address.Key }, transaction)).ToSubscriber();
        await transaction.CommitAsync(cancellationToken);
        return (outcome, subscriber);
    }

    /// <summary>An unsubscribed or bounced reader becomes pending again (<c>subscribers add --force</c> without <c>--confirmed</c>).</summary>
    public async Task ReopenAsync(EmailAddress address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var now = DbTime.ToDb(time.GetUtcNow());
        await connection.ExecuteAsync(new CommandDefinition(ReopenSql, new { key = address.Key, now, servedFrom = ServedFrom(now) }, cancellationToken: cancellationToken));
    }

    /// <summary>Input already validated by <see cref="PreferenceParser.TryApply"/>; applying it again cannot fail.</summary>
    private static Preferences Apply(Preferences current, PreferenceInput? input) =>
        input is null ? current : PreferenceParser.TryApply(current, input, out var result, out var problems)
            ? result : throw new ArgumentException(string.Join(" ", problems.Select(p => $"{p.Key} {p.Value}")));

    private static DynamicParameters Parameters(Preferences preferences, object values)
    {
        var parameters = new DynamicParameters(values);
        parameters.AddDynamicParams(PreferenceColumns.From(preferences));
        return parameters;
    }

    /// <summary>A confirmation mail that could not be sent does not count against the resend interval.</summary>
    public async Task ForgetConfirmationSentAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE subscribers SET confirmation_sent_at = NULL WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>When the last confirmation mail to a subscriber was sent, if ever.</summary>
    public async Task<DateTimeOffset?> ConfirmationSentAtAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return DbTime.FromDb(await connection.ExecuteScalarAsync<long?>(
            new CommandDefinition("SELECT confirmation_sent_at FROM subscribers WHERE id = @id", new { id }, cancellationToken: cancellationToken)));
    }

    /// <summary>
    /// A visitor asks to subscribe. New, unsubscribed and bounced addresses become pending and get a
    /// confirmation; a pending one gets it again only once per <paramref name="resendInterval"/>;
    /// an active one is left as it is (a stranger must not change someone's subscription).
    /// A suppressed address (hard bounce, complaint, erased: <see cref="SuppressionList"/>) is left as it
    /// is and gets no mail; only the operator re-adds it (<c>subscribers add --force</c>).
    /// </summary>
    /// <returns>The subscriber, whether a confirmation mail is due now, and the suppression that stopped one.</returns>
    public async Task<SubscriptionRequest> RequestSubscriptionAsync(EmailAddress address, Preferences preferences, TimeSpan resendInterval, CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Two requests for one address at once (a double click, two instances) must not both insert.
        await database.SerializeAsync(connection, transaction, "subscriber " + address.Key);
        var existing = await connection.QuerySingleOrDefaultAsync<(long Id, string Status, long? ConfirmationSentAt)>(
            "SELECT id, status, confirmation_sent_at FROM subscribers WHERE email_key = @key", new { key = address.Key }, transaction);
        if (await suppressions.FindAsync(connection, transaction, address, cancellationToken) is { } suppressed)
        {
            // Still one committed write, as for any known address (the answer's timing tells nothing).
            await connection.ExecuteAsync(TouchSql, new { id = existing.Id, now }, transaction);
            await transaction.CommitAsync(cancellationToken);
            return new SubscriptionRequest(existing.Id, false, suppressed);
        }
        long id;
        bool send;
        if (existing.Id == 0)
        {
            await connection.ExecuteAsync(InsertSql, Parameters(preferences, new { email = address.Address, key = address.Key, status = SubscriberStatus.Pending, now, confirmedAt = (long?)null, servedFrom = ServedFrom(now) }), transaction);
            id = await connection.ExecuteScalarAsync<long>("SELECT id FROM subscribers WHERE email_key = @key", new { key = address.Key }, transaction);
            send = true;
        }
        else
        {
            id = existing.Id;
            switch (existing.Status)
            {
                case SubscriberStatus.Pending:
                    send = existing.ConfirmationSentAt is not { } sent || now - sent >= (long)resendInterval.TotalMilliseconds;
                    break;
                case SubscriberStatus.Active:
                    send = false;
                    break;
                default:
                    await connection.ExecuteAsync(ToPendingSql, Parameters(preferences, new { id, now, servedFrom = ServedFrom(now) }), transaction);
                    send = true;
                    break;
            }
        }
        // A known address gets a write too: new and known addresses then cost the same (one
        // committed write), so the answer's timing does not tell whether an address is on the list.
        await connection.ExecuteAsync(send ? MarkConfirmationSentSql : TouchSql, new { id, now }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return new SubscriptionRequest(id, send);
    }

    /// <summary>Where a reader who joins (or returns) at <paramref name="now"/> starts: <c>Subscriptions:NewReaderLookback</c> before it.</summary>
    private long ServedFrom(long now) => now - (long)options.Value.NewReaderLookback.TotalMilliseconds;

    /// <summary>Pending becomes active; an already active subscriber stays so. False otherwise.</summary>
    public async Task<bool> ConfirmAsync(long id, long episode, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        if (await connection.ExecuteAsync(ConfirmSql, new { id, episode, now = DbTime.ToDb(time.GetUtcNow()) }) == 1)
            return true;
        return await connection.ExecuteScalarAsync<long>(ConfirmedSinceSql, new { id, episode }) == 1;
    }

    /// <summary>Stops all mail to the subscriber; idempotent. False for an unknown id.</summary>
    public Task<bool> UnsubscribeAsync(long id, CancellationToken cancellationToken) => UnsubscribeAsync(id, "unsubscribed by the reader", cancellationToken);

    /// <summary>As <see cref="UnsubscribeAsync(long, CancellationToken)"/>, saying who did it (an operator on the reader's behalf).</summary>
    public async Task<bool> UnsubscribeAsync(long id, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(UnsubscribeSql, new { id, now = DbTime.ToDb(time.GetUtcNow()), reason });
        return await connection.ExecuteScalarAsync<long?>("SELECT id FROM subscribers WHERE id = @id", new { id }) is not null;
    }

    /// <summary>
    /// An unsubscribed reader becomes active again (from the preferences page), starting with papers collected from now. False when not unsubscribed.
    /// A reader who complained comes back so too (the link was mailed to them: they hold the inbox), and their complaint is lifted.
    /// </summary>
    public async Task<bool> ResubscribeAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = DbTime.ToDb(time.GetUtcNow());
        if (await connection.ExecuteAsync(ResubscribeSql, new { id, now, servedFrom = ServedFrom(now) }, transaction) != 1)
            return false;
        await suppressions.LiftComplaintAsync(connection, transaction, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Stores a reader's preferences (and, when given, pause/resume). False for an unknown id.</summary>
    public async Task<bool> SavePreferencesAsync(long id, bool? paused, Preferences preferences, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(PreferencesSql, Parameters(preferences, new { id }), transaction) == 1;
        if (changed && paused is { } value)
            await connection.ExecuteAsync(PausedSql, new { id, paused = value ? 1 : 0 }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    /// <summary>Deletes subscribers who never confirmed within the confirmation lifetime.</summary>
    public async Task<int> PurgeUnconfirmedAsync(DateTimeOffset pendingBefore, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var count = await connection.ExecuteScalarAsync<int>(
            "SELECT COUNT(*) FROM subscribers WHERE status = 'pending' AND pending_since < @before", new { before = DbTime.ToDb(pendingBefore) }, transaction);
        await connection.ExecuteAsync(PurgeSql, new { before = DbTime.ToDb(pendingBefore) }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    public async Task<Subscriber?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<SubscriberRow>(SelectByIdSql, new { id }))?.ToSubscriber();
    }

    public async Task<Subscriber?> FindAsync(EmailAddress address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<SubscriberRow>(SelectByKeySql, new { key = address.Key }))?.ToSubscriber();
    }



    /// <summary>The collection time up to which the reader has been served (their next digest starts after it).</summary>
    public async Task<long> ServedUntilAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>("SELECT COALESCE(served_until, created_at) FROM subscribers WHERE id = @id", new { id }) ?? 0;
    }

    /// <summary>
    /// Removes the subscriber and their delivery history (an operator's erase request). The address stays
    /// on the suppression list as a keyed hash only, so an old import list cannot bring it back unasked.
    /// </summary>
    public async Task<bool> RemoveAsync(EmailAddress address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var existing = await connection.QuerySingleOrDefaultAsync<SubscriberRow>(SelectByKeySql, new { key = address.Key }, transaction);
        if (existing is null)
            return false;
        await connection.ExecuteAsync(DeleteSql, new { id = existing.Id }, transaction);
        await suppressions.EraseAsync(connection, transaction, address, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Streams every subscriber in id order without holding them all in memory.</summary>
    public async IAsyncEnumerable<Subscriber> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await foreach (var subscriber in connection.QueryUnbufferedAsync<SubscriberRow>(SelectAllSql).WithCancellation(cancellationToken))
            yield return subscriber.ToSubscriber();
    }
}
