using System.Diagnostics;
using Newsletter.Delivery;
using Newsletter.Storage;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// A group commit of outcomes: every kind written as it was answered, in one transaction; on
/// PostgreSQL as one statement (one round trip), where it was one per outcome.
/// </summary>
public sealed class OutcomeBatchTests
{
    private static async Task<TestHost> LedgerAsync(DatabaseProvider provider, int readers)
    {
        if (provider == DatabaseProvider.Postgres)
            TestPostgres.Require();
        var host = new TestHost(provider: provider);
        // Composed, not sent: the relay is unreachable, so every delivery stays pending.
        host.UseSmtp(1);
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        for (var i = 1; i <= readers; i++)
            await host.RunAsync("subscribers", "add", $"reader{i}@example.org", "--confirmed");
        await host.RunAsync("collect");
        await host.RunAsync("send-now", "--date", "2025-09-08");
        return host;
    }

    private static async Task<List<(long Id, long Subscriber)>> RowsAsync(TestHost host)
    {
        await using var connection = await host.OpenAsync();
        return (await Dapper.SqlMapper.QueryAsync<(long, long)>(connection, "SELECT id, subscriber_id FROM deliveries ORDER BY id")).ToList();
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task EveryKindOfOutcomeInOneBatchIsWrittenAsAnswered(DatabaseProvider provider)
    {
        await using var host = await LedgerAsync(provider, 5);
        var rows = await RowsAsync(host);
        Assert.Equal(5, rows.Count);
        // Four are claimed (in flight); the fifth was never claimed, and an outcome for it must not land.
        await host.ExecuteAsync($"UPDATE deliveries SET status = 'sending', lease_until = 1, lease_owner = 'run' WHERE id <> {rows[4].Id}");
        var retryAt = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

        await host.Service<DeliveryStore>().RecordAsync(
        [
            new DeliveryResult(rows[2].Id, rows[2].Subscriber, DeliveryStatus.Bounced, "550 5.1.1 no such user", null),
            new DeliveryResult(rows[0].Id, rows[0].Subscriber, DeliveryStatus.Sent, null, null),
            new DeliveryResult(rows[1].Id, rows[1].Subscriber, DeliveryStatus.Pending, "451 try later", retryAt),
            new DeliveryResult(rows[3].Id, rows[3].Subscriber, DeliveryStatus.Skipped, "subscriber is unsubscribed", null),
            new DeliveryResult(rows[4].Id, rows[4].Subscriber, DeliveryStatus.Sent, null, null),
        ], maxHardBounces: 1, CancellationToken.None);

        await using var connection = await host.OpenAsync();
        var ledger = (await Dapper.SqlMapper.QueryAsync<(long Id, string Status, string? Error, long? SentAt, long NextAttempt, long? Lease, string? Owner)>(connection,
            "SELECT id, status, last_error, sent_at, next_attempt_at, lease_until, lease_owner FROM deliveries ORDER BY id")).ToList();
        Assert.Equal(["sent", "pending", "bounced", "skipped", "pending"], ledger.Select(l => l.Status));
        Assert.Equal([null, "451 try later", "550 5.1.1 no such user", "subscriber is unsubscribed", null], ledger.Select(l => l.Error));
        Assert.NotNull(ledger[0].SentAt);
        Assert.All(ledger.Skip(1), l => Assert.Null(l.SentAt));
        Assert.Equal(DbTime.ToDb(retryAt), ledger[1].NextAttempt);
        Assert.All(ledger.Take(4), l => Assert.True(l.Lease is null && l.Owner is null));
        // The bounce counted against the address (and, at one bounce, suspended it).
        Assert.Equal("bounced", await host.QueryScalarAsync<string>($"SELECT status FROM subscribers WHERE id = {rows[2].Subscriber}"));
        Assert.Equal("active", await host.QueryScalarAsync<string>($"SELECT status FROM subscribers WHERE id = {rows[0].Subscriber}"));
    }

    [Fact]
    public async Task OnPostgresABatchIsOneStatement()
    {
        await using var host = await LedgerAsync(DatabaseProvider.Postgres, 40);
        var rows = await RowsAsync(host);
        await host.ExecuteAsync("UPDATE deliveries SET status = 'sending', lease_until = 1, lease_owner = 'run'");
        var store = host.Service<DeliveryStore>();
        var commands = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (commands)
                    commands.Add(activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName);
            },
        };
        ActivitySource.AddActivityListener(listener);

        await store.RecordAsync(rows.Select(r => new DeliveryResult(r.Id, r.Subscriber, DeliveryStatus.Sent, null, null)).ToList(), 1, CancellationToken.None);

        ActivitySource.AddActivityListener(new ActivityListener { ShouldListenTo = _ => false });
        List<string> seen;
        lock (commands)
            seen = [.. commands.Where(c => c.Contains("deliveries", StringComparison.Ordinal))];
        Assert.True(seen.Count == 1, string.Join("\n---\n", commands));
        Assert.Equal(40L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
    }
}
