using Dapper;
using Newsletter.Storage;

namespace Newsletter.Delivery;

/// <summary>
/// A hold on all sending, for every instance (it is in the database), for one of two reasons:
/// complaints passed <c>Bounces:MaxComplaintRate</c> (a row in settings), or every relay is out
/// after refusing the content (<see cref="RelayOutages"/>). A delivery run finds it and sends nothing
/// until the operator lifts it (<c>send-now</c>); a relay hold also ends when a relay's probe message
/// is accepted, so once a cool-down is over a run goes ahead to send that probe. <c>/health</c> is
/// unhealthy while it holds.
/// </summary>
public sealed class SendHold(Database database, RelayOutages relays, TimeProvider time)
{
    /// <summary>Why sending is held; <see cref="ProbeDue"/> when a relay's cool-down is over and its probe may go.</summary>
    public sealed record State(string Reason, bool ProbeDue);

    private const string Key = "send_hold";
    private const string SelectSql = "SELECT value FROM settings WHERE key = @key";
    private const string UpsertSql = "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    private const string DeleteSql = "DELETE FROM settings WHERE key = @key";

    /// <summary>Why sending is held (with since when), or null.</summary>
    public async Task<string?> ReasonAsync(CancellationToken cancellationToken) => (await StateAsync(cancellationToken))?.Reason;

    /// <summary>The hold, or null when sending goes on. Complaints come first: no probe goes out then.</summary>
    public async Task<State?> StateAsync(CancellationToken cancellationToken)
    {
        string? complaints;
        await using (var connection = await database.OpenAsync(cancellationToken))
            complaints = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(SelectSql, new { key = Key }, cancellationToken: cancellationToken));
        if (complaints is not null)
            return new State(complaints, false);
        var configured = relays.ConfiguredRelays;
        if (configured.Count == 0)
            return null;
        var outages = (await relays.ListAsync(cancellationToken)).ToDictionary(o => o.Relay, StringComparer.OrdinalIgnoreCase);
        if (!configured.All(outages.ContainsKey))
            return null;
        var now = time.GetUtcNow();
        var each = configured.Select(r => outages[r]).ToArray();
        return new State("no relay accepts the content: " + string.Join("; ", each.Select(o => o.Describe(now))), each.Any(o => o.ProbeDue(now)));
    }

    public async Task HoldAsync(string reason, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(UpsertSql,
            new { key = Key, value = $"{reason} (since {time.GetUtcNow():yyyy-MM-dd HH:mm} UTC)" }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Lifts the hold and brings every relay out for its content back into rotation (the operator says
    /// the cause is dealt with); returns what there was, or null when nothing held.
    /// </summary>
    public async Task<string?> ReleaseAsync(CancellationToken cancellationToken)
    {
        string? complaints;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            complaints = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(SelectSql, new { key = Key }, cancellationToken: cancellationToken));
            if (complaints is not null)
                await connection.ExecuteAsync(new CommandDefinition(DeleteSql, new { key = Key }, cancellationToken: cancellationToken));
        }
        var now = time.GetUtcNow();
        var outages = await relays.ClearAsync(cancellationToken);
        string[] reasons = [.. complaints is null ? [] : new[] { complaints }, .. outages.Select(o => o.Describe(now))];
        return reasons.Length == 0 ? null : string.Join("; ", reasons);
    }
}
