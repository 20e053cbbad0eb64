using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Newsletter.Storage;

namespace Newsletter.Subscriptions;

/// <summary>Why an address is on the suppression list (the words stored in <c>suppressions.reason</c>).</summary>
public static class SuppressionReason
{
    public const string HardBounce = "hard-bounce";
    public const string Complaint = "complaint";
    public const string Erased = "erased";
}

/// <summary>One entry of the suppression list: why, since when, and what the server or the report said (empty once erased).</summary>
public sealed record Suppression(string Reason, string Detail, DateTimeOffset At)
{
    /// <summary>"hard bounce on 2026-12-04: 550 5.1.1 user unknown", "complaint on ...", "erased on ...".</summary>
    public string Describe()
    {
        var what = Reason switch
        {
            SuppressionReason.HardBounce => "hard bounce",
            SuppressionReason.Complaint => "complaint",
            SuppressionReason.Erased => "erased",
            _ => Reason,
        };
        return string.Create(CultureInfo.InvariantCulture, $"{what} on {At:yyyy-MM-dd}") + (Detail.Length > 0 ? $": {Detail}" : "");
    }
}

/// <summary>
/// Addresses that bounced hard, complained or were erased: <c>subscribers add</c> and <c>import</c>
/// refuse them without <c>--force</c>, and the subscribe form sends them no confirmation mail (its
/// answer stays the same, so it tells nobody whether an address is known).
/// </summary>
/// <remarks>
/// Rows are keyed by the folded address (<see cref="EmailAddress.Key"/>), so every spelling of one
/// mailbox is caught. The row of a hard bounce or a complaint is written in the same transaction that
/// suspends or unsubscribes the reader (the bounce recorder's, and the delivery ledger's, which keeps
/// its own copy of the SQL), while the reader's row, holding the address anyway, still exists. When a reader is erased their row goes, and so does the address: what stays is an
/// HMAC of the folded address under a key derived from the link secret (prefix <c>hmac:</c>), the
/// reason and the date, enough to recognise the address when someone offers it again and nothing to
/// read it back from. Every secret still accepted (<c>Secret</c>, <c>PreviousSecrets</c>) is tried,
/// so a rotation keeps the list; <c>database copy</c> carries the secret along with the rows.
/// </remarks>
public sealed class SuppressionList(Database database, SigningKeys keys, TimeProvider time, ILogger<SuppressionList> logger)
{
    /// <summary>A reader just suspended by a hard bounce (the guard on status: only once they are suspended).</summary>
    public const string SuppressBouncedReaderSql = """
        INSERT INTO suppressions (address_key, reason, detail, suppressed_at)
        SELECT email_key, 'hard-bounce', @detail, @now FROM subscribers WHERE id = @id AND status = 'bounced'
        ON CONFLICT (address_key) DO NOTHING
        """;

    /// <summary>A reader who complained (an ARF report), whatever their status.</summary>
    public const string SuppressComplainedReaderSql = """
        INSERT INTO suppressions (address_key, reason, detail, suppressed_at)
        SELECT email_key, 'complaint', @detail, @now FROM subscribers WHERE id = @id
        ON CONFLICT (address_key) DO NOTHING
        """;

    private const string FindSql = """
        SELECT reason AS Reason, detail AS Detail, suppressed_at AS SuppressedAt FROM suppressions
        WHERE address_key IN @keys ORDER BY suppressed_at LIMIT 1
        """;

    private const string DeleteSql = "DELETE FROM suppressions WHERE address_key IN @keys";

    private const string InsertSql = """
        INSERT INTO suppressions (address_key, reason, detail, suppressed_at) VALUES (@key, @reason, @detail, @at)
        ON CONFLICT (address_key) DO NOTHING
        """;

    // A reader back through their own preferences link proves they hold the inbox: their complaint is lifted.
    private const string LiftComplaintSql = """
        DELETE FROM suppressions WHERE reason = 'complaint' AND address_key = (SELECT email_key FROM subscribers WHERE id = @id)
        """;

    private static readonly byte[] KeyInfo = "newsletter suppression list v1"u8.ToArray();

    private sealed record Row(string Reason, string Detail, long SuppressedAt);

    /// <summary>Whether the address is suppressed, and why.</summary>
    public async Task<Suppression?> FindAsync(EmailAddress address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await FindAsync(connection, null, address, cancellationToken);
    }

    /// <inheritdoc cref="FindAsync(EmailAddress, CancellationToken)"/>
    public async Task<Suppression?> FindAsync(DbConnection connection, DbTransaction? transaction, EmailAddress address, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(database.InList(FindSql), new { keys = Keys(address) }, transaction, cancellationToken: cancellationToken));
        return row is null ? null : new Suppression(row.Reason, row.Detail, DbTime.FromDb(row.SuppressedAt));
    }

    /// <summary>
    /// The operator re-adds the address (<c>--force</c>): its entry goes, and the log says so.
    /// Returns what was lifted (null when it was not suppressed).
    /// </summary>
    public async Task<Suppression?> LiftAsync(EmailAddress address, string by, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var suppression = await FindAsync(connection, transaction, address, cancellationToken);
        if (suppression is null)
            return null;
        await connection.ExecuteAsync(new CommandDefinition(database.InList(DeleteSql), new { keys = Keys(address) }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        logger.LogWarning("Suppression list: {Address} ({Suppression}) lifted by {By}", address.Address, suppression.Describe(), by);
        return suppression;
    }

    /// <summary>A complained reader who came back through their own preferences link: the complaint no longer holds.</summary>
    public async Task LiftComplaintAsync(DbConnection connection, DbTransaction transaction, long subscriberId, CancellationToken cancellationToken)
    {
        if (await connection.ExecuteAsync(new CommandDefinition(LiftComplaintSql, new { id = subscriberId }, transaction, cancellationToken: cancellationToken)) > 0)
            logger.LogInformation("Suppression list: the complaint of reader {Subscriber} lifted: they subscribed again through their preferences link", subscriberId);
    }

    /// <summary>
    /// The reader is being erased (in the caller's transaction): their entry, if any, becomes a keyed
    /// hash with its reason and date but without the detail (a bounce's reply may name the address);
    /// without one they are entered as erased.
    /// </summary>
    public async Task EraseAsync(DbConnection connection, DbTransaction transaction, EmailAddress address, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(connection, transaction, address, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(database.InList(DeleteSql), new { keys = Keys(address) }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            key = Hashed(HashKeys()[0], address.Key),
            reason = existing?.Reason ?? SuppressionReason.Erased,
            detail = "",
            at = DbTime.ToDb(existing?.At ?? time.GetUtcNow()),
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The address's own key, then its hash under every accepted secret.</summary>
    private string[] Keys(EmailAddress address) => [address.Key, .. HashKeys().Select(key => Hashed(key, address.Key))];

    // The HMAC keys derived from the accepted secrets, once per loaded set (an import checks every row);
    // a class, so that concurrent requests swap it whole.
    private sealed record Derived(IReadOnlyList<byte[]> Secrets, byte[][] Keys);

    private volatile Derived? _derived;

    private byte[][] HashKeys()
    {
        var secrets = keys.All;
        if (_derived is { } derived && ReferenceEquals(derived.Secrets, secrets))
            return derived.Keys;
        var fresh = secrets.Select(secret => HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, info: KeyInfo)).ToArray();
        _derived = new Derived(secrets, fresh);
        return fresh;
    }

    private static string Hashed(byte[] key, string folded) =>
        "hmac:" + Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(folded)));
}
