using Dapper;
using Newsletter.Storage;

namespace Newsletter.Subscriptions;

public enum AddOutcome { Added, AlreadyPresent, Activated }

/// <summary>Subscriber rows: administration and the reads the dispatcher needs.</summary>
public sealed class SubscriberStore(Database database, TimeProvider time)
{
    private const string Columns = "id AS Id, email AS Email, status AS Status, topics AS Topics, status_reason AS StatusReason, created_at AS CreatedAt, confirmed_at AS ConfirmedAt";

    private const string SelectByKeySql = $"SELECT {Columns} FROM subscribers WHERE email_key = @key";
    private const string SelectAllSql = $"SELECT {Columns} FROM subscribers ORDER BY id";

    private const string InsertSql = """
        INSERT INTO subscribers (email, email_key, status, created_at, confirmed_at)
        VALUES (@email, @key, @status, @now, @confirmedAt)
        """;

    private const string ActivateSql = """
        UPDATE subscribers SET status = 'active', confirmed_at = @now, unsubscribed_at = NULL, status_reason = NULL, hard_bounces = 0
        WHERE id = @id
        """;

    private const string DeleteSql = """
        DELETE FROM deliveries WHERE subscriber_id = @id;
        DELETE FROM subscribers WHERE id = @id;
        """;

    /// <summary>
    /// Adds an address. With <paramref name="confirmed"/> the operator vouches for consent, so a
    /// pending, unsubscribed or bounced address becomes active again.
    /// </summary>
    public async Task<(AddOutcome Outcome, Subscriber Subscriber)> AddAsync(EmailAddress address, bool confirmed, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = DbTime.ToDb(time.GetUtcNow());
        var existing = await connection.QuerySingleOrDefaultAsync<Subscriber>(SelectByKeySql, new { key = address.Key }, transaction);
        AddOutcome outcome;
        if (existing is null)
        {
            await connection.ExecuteAsync(InsertSql, new
            {
                email = address.Address,
                key = address.Key,
                status = confirmed ? SubscriberStatus.Active : SubscriberStatus.Pending,
                now,
                confirmedAt = confirmed ? now : (long?)null,
            }, transaction);
            outcome = AddOutcome.Added;
        }
        else if (confirmed && existing.Status != SubscriberStatus.Active)
        {
            await connection.ExecuteAsync(ActivateSql, new { id = existing.Id, now }, transaction);
            outcome = AddOutcome.Activated;
        }
        else
        {
            outcome = AddOutcome.AlreadyPresent;
        }
        var subscriber = await connection.QuerySingleAsync<Subscriber>(SelectByKeySql, new { key = address.Key }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return (outcome, subscriber);
    }

    public async Task<Subscriber?> FindAsync(EmailAddress address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Subscriber>(SelectByKeySql, new { key = address.Key });
    }



    /// <summary>Removes the subscriber and their delivery history (an operator's erase request).</summary>
    public async Task<bool> RemoveAsync(EmailAddress address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var existing = await connection.QuerySingleOrDefaultAsync<Subscriber>(SelectByKeySql, new { key = address.Key }, transaction);
        if (existing is null)
            return false;
        await connection.ExecuteAsync(DeleteSql, new { id = existing.Id }, transaction);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Streams every subscriber in id order without holding them all in memory.</summary>
    public async IAsyncEnumerable<Subscriber> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await foreach (var subscriber in connection.QueryUnbufferedAsync<Subscriber>(SelectAllSql).WithCancellation(cancellationToken))
            yield return subscriber;
    }
}
