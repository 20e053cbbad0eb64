using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Storage;

namespace Newsletter.Delivery;

/// <summary>A relay out of rotation for every instance after refusing the content: until when, why, and who probes it.</summary>
public sealed record RelayOutage(string Relay, int Strikes, DateTimeOffset OutUntil, string Reason, DateTimeOffset Since, string? ProbeOwner, DateTimeOffset? ProbeUntil)
{
    /// <summary>The cool-down is over and nobody (alive) is probing: the next message may be the probe.</summary>
    public bool ProbeDue(DateTimeOffset now) => OutUntil <= now && (ProbeOwner is null || ProbeUntil <= now);

    public string Describe(DateTimeOffset now) =>
        $"{Relay} out of rotation for every instance since {Since:u} after refusing the content ({Reason}); "
        + (OutUntil > now ? $"a probe message follows at {OutUntil:u}" : ProbeDue(now) ? "the next message is its probe" : "a probe message is on its way");
}

/// <summary>
/// The <c>relay_outages</c> table: relays taken out for every instance because they refused the
/// content message after message. The cool-down starts at <c>Smtp:RelayContentCooldown</c> and doubles
/// with each refused probe up to <c>Smtp:RelayContentCooldownMax</c>; a probe is claimed by one run at
/// a time (a lease, so a crashed instance's probe is taken over); an accepted probe deletes the row.
/// Every write is one statement guarded by what it expects, so instances racing each other agree.
/// </summary>
public sealed class RelayOutages(Database database, IOptions<SmtpOptions> smtp, TimeProvider time)
{
    private const string ListSql = "SELECT relay, strikes, out_until, reason, since, probe_owner, probe_until FROM relay_outages ORDER BY relay";

    // A relay already out stays as it is: a second instance tripping on the same relay does not grow its cool-down.
    private const string TakeOutSql = """
        INSERT INTO relay_outages (relay, strikes, out_until, reason, since, probe_owner, probe_until)
        VALUES (@relay, 1, @until, @reason, @now, NULL, NULL)
        ON CONFLICT (relay) DO NOTHING
        """;

    private const string ClaimProbeSql = """
        UPDATE relay_outages SET probe_owner = @owner, probe_until = @lease
        WHERE relay = @relay AND out_until <= @now AND (probe_owner IS NULL OR probe_until <= @now)
        """;

    private const string ProbeRefusedSql = """
        UPDATE relay_outages SET strikes = @strikes, out_until = @until, reason = @reason, probe_owner = NULL, probe_until = NULL
        WHERE relay = @relay AND probe_owner = @owner
        """;

    private const string ReleaseProbeSql = "UPDATE relay_outages SET probe_owner = NULL, probe_until = NULL WHERE relay = @relay AND probe_owner = @owner";

    private const string ProbePassedSql = "DELETE FROM relay_outages WHERE relay = @relay AND probe_owner = @owner";

    private const string ClearSql = "DELETE FROM relay_outages";

    /// <summary>The relays this configuration sends through, by the names the table uses.</summary>
    public static IReadOnlyList<string> Configured(SmtpOptions options) =>
        options.Relays.Count > 0 ? options.Relays.Select(r => r.Name).ToArray()
        : string.IsNullOrWhiteSpace(options.Host) ? [] : [$"{options.Host}:{options.Port}"];

    public IReadOnlyList<string> ConfiguredRelays => Configured(smtp.Value);

    /// <summary>The cool-down after the given number of refusal streaks in a row.</summary>
    public TimeSpan Cooldown(int strikes)
    {
        var options = smtp.Value;
        var grown = options.RelayContentCooldown.Ticks * Math.Pow(2, Math.Min(strikes - 1, 30));
        return grown >= options.RelayContentCooldownMax.Ticks ? options.RelayContentCooldownMax : TimeSpan.FromTicks((long)grown);
    }

    public async Task<IReadOnlyList<RelayOutage>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(ListSql, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToOutage()).ToArray();
    }

    /// <summary>Takes the relay out for its first cool-down; false when it was out already.</summary>
    public async Task<bool> TakeOutAsync(string relay, string reason, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return await ExecuteAsync(TakeOutSql, new { relay, until = DbTime.ToDb(now + Cooldown(1)), reason, now = DbTime.ToDb(now) }, cancellationToken) == 1;
    }

    /// <summary>Claims the probe of a relay whose cool-down is over; false when it is not due or another run has it.</summary>
    public async Task<bool> ClaimProbeAsync(string relay, string owner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // The lease outlives the slowest send (connect, then the message, each within Smtp:Timeout).
        var lease = now + smtp.Value.Timeout * 3;
        return await ExecuteAsync(ClaimProbeSql, new { relay, owner, lease = DbTime.ToDb(lease), now = DbTime.ToDb(now) }, cancellationToken) == 1;
    }

    /// <summary>The probe was refused: out again for a longer cool-down; returns until when.</summary>
    public async Task<DateTimeOffset> ProbeRefusedAsync(RelayOutage outage, string owner, string reason, CancellationToken cancellationToken)
    {
        var strikes = outage.Strikes + 1;
        var until = time.GetUtcNow() + Cooldown(strikes);
        await ExecuteAsync(ProbeRefusedSql, new { relay = outage.Relay, owner, strikes, until = DbTime.ToDb(until), reason }, cancellationToken);
        return until;
    }

    /// <summary>The probe was accepted: the relay is back for every instance.</summary>
    public Task ProbePassedAsync(string relay, string owner, CancellationToken cancellationToken) =>
        ExecuteAsync(ProbePassedSql, new { relay, owner }, cancellationToken);

    /// <summary>The probe failed for another reason (unreachable, a 4xx, this reader): someone may probe again.</summary>
    public Task ReleaseProbeAsync(string relay, string owner, CancellationToken cancellationToken) =>
        ExecuteAsync(ReleaseProbeSql, new { relay, owner }, cancellationToken);

    /// <summary>The operator resumes sending: every relay back in rotation; returns the outages there were.</summary>
    public async Task<IReadOnlyList<RelayOutage>> ClearAsync(CancellationToken cancellationToken)
    {
        var outages = await ListAsync(cancellationToken);
        if (outages.Count > 0)
            await ExecuteAsync(ClearSql, null, cancellationToken);
        return outages;
    }

    private async Task<int> ExecuteAsync(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
    }

    private sealed record Row(string Relay, long Strikes, long Out_until, string Reason, long Since, string? Probe_owner, long? Probe_until)
    {
        public RelayOutage ToOutage() => new(Relay, (int)Strikes, DbTime.FromDb(Out_until), Reason, DbTime.FromDb(Since), Probe_owner, DbTime.FromDb(Probe_until));
    }
}
