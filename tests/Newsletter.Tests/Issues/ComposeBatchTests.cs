using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Sources;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Issues;

/// <summary>
/// A compose reads its readers in batches of ids (a million are never held at once). Here batches of four over
/// 31 readers in three interleaved preference groups, a group that matches nothing, and a learning reader in the
/// last batch: the result must be what one batch of everyone gives (one stored digest per group, a digest's ledger
/// rows consecutive, the skips recorded, the learner's own order from their vote), and a second compose adds nothing.
/// </summary>
public sealed class ComposeBatchTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateOnly Monday = new(2026, 11, 9);
    private static readonly string[] Groups = ["alpha", "beta", "gamma"];
    private readonly ManualClock _clock = new();
    private readonly TestHost _host = new();

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public async ValueTask InitializeAsync()
    {
        _host.Time = _clock;
        _clock.Now = At(5);
        // Readers 0-29 in the three groups in turn, every tenth one asking for a word no paper has; reader 30 learns.
        for (var i = 0; i < 30; i++)
            Assert.Equal(0, (await _host.RunAsync("subscribers", "add", $"r{i:00}@example.org", "--confirmed",
                "--keywords", i % 10 == 9 ? "nothingmatches" : Groups[i % 3])).Exit);
        Assert.Equal(0, (await _host.RunAsync("subscribers", "add", "learner@example.org", "--confirmed", "--keywords", "alpha")).Exit);
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static DateTimeOffset At(int hour) => new(Monday.ToDateTime(new TimeOnly(hour, 0)), TimeSpan.Zero);

    [Fact]
    public async Task BatchesOfReadersComposeAsOneCompose()
    {
        // An earlier paper the learner liked, then the day's papers: four per group, the alpha ones with vectors
        // whose similarity to the liked paper runs against their upvotes.
        _clock.Now = At(1);
        var store = _host.Service<EntryStore>();
        await store.UpsertAsync([Paper("2611.00001", "An earlier paper they liked", 0)], CancellationToken.None);
        _clock.Now = At(6);
        var papers = Groups.SelectMany((g, gi) => Enumerable.Range(1, 4).Select(n => Paper($"2611.1{gi}{n:00}", $"A {g} paper number {n}", n * 10))).ToList();
        await store.UpsertAsync(papers, CancellationToken.None);
        await using (var connection = await _host.OpenAsync())
        {
            await SetVectorAsync(connection, "2611.00001", 1f);
            for (var n = 1; n <= 4; n++)
                await SetVectorAsync(connection, $"2611.10{n:00}", 1f - n * 0.2f); // the fewer upvotes, the closer
            await connection.ExecuteAsync("""
                INSERT INTO votes (subscriber_id, entry_id, vote, origin, voted_at)
                SELECT s.id, e.id, 1, 'seed', 0 FROM subscribers s, entries e
                WHERE s.email = 'learner@example.org' AND e.canonical_id = 'arxiv:2611.00001'
                """);
        }

        _clock.Now = At(7);
        var composer = _host.Service<DigestComposer>();
        composer.BatchSize = 4;
        var result = await composer.ComposeAsync(Monday, TimeSpan.FromDays(1), CancellationToken.None);
        output.WriteLine($"{result.Outcome}: {result.Deliveries} deliveries, {result.Groups} digests, {result.NothingNew} skipped");

        Assert.Equal(ComposeOutcome.Composed, result.Outcome);
        Assert.Equal(28, result.Deliveries); // 27 grouped readers and the learner
        Assert.Equal(3, result.NothingNew);
        await using var db = await _host.OpenAsync();
        var rows = (await db.QueryAsync<(long Id, string Email, long Digest)>("""
            SELECT d.id AS Id, s.email AS Email, d.digest_id AS Digest FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id ORDER BY d.id
            """)).ToList();
        Assert.Equal(28, rows.Count);
        Assert.Equal(28, rows.Select(r => r.Email).Distinct().Count());
        // One stored digest per group across all eight batches, and the learner's own; each digest's rows together.
        Assert.Equal(4, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM digests"));
        Assert.Equal(4, result.Groups);
        var runs = rows.Select(r => r.Digest).Where((d, i) => i == 0 || rows[i - 1].Digest != d).ToList();
        Assert.Equal(runs.Count, runs.Distinct().Count());
        foreach (var (_, email, digest) in rows)
        {
            var titles = (await db.QueryAsync<string>("""
                SELECT e.title FROM digest_entries de JOIN entries e ON e.id = de.entry_id WHERE de.digest_id = @digest ORDER BY de.position
                """, new { digest })).ToList();
            if (email == "learner@example.org")
            {
                // Closest to the liked paper first, against upvotes; the reason names it.
                Assert.Equal(["A alpha paper number 1", "A alpha paper number 2", "A alpha paper number 3", "A alpha paper number 4"], titles);
                Assert.Contains("like “An earlier paper they liked”", await db.ExecuteScalarAsync<string>(
                    "SELECT why FROM digest_entries WHERE digest_id = @digest AND position = 1", new { digest }));
                continue;
            }
            var group = Groups[int.Parse(email[1..3]) % 3];
            Assert.Equal(Enumerable.Range(1, 4).Reverse().Select(n => $"A {group} paper number {n}"), titles);
        }
        Assert.Equal(3, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM digest_skips WHERE reason LIKE 'none of the % new papers matched%'"));
        // Every cursor moved: the next compose finds everyone served.
        var again = await composer.ComposeAsync(Monday, TimeSpan.FromDays(1), CancellationToken.None);
        Assert.Equal(0, again.Deliveries);
        Assert.Equal(28, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM deliveries"));
    }

    [Fact]
    public async Task WhatADigestHadNoRoomForReachesItsReadersInEveryBatchTheNextDay()
    {
        // Two in full and one under "More papers": of each group's four papers the weakest is carried to the next day.
        _host.Set("Newsletter:MaxEntriesPerIssue", "2");
        _host.Set("Newsletter:MaxMoreEntriesPerIssue", "1");
        var app = _host.Build(["collect"]);
        var store = app.Services.GetRequiredService<EntryStore>();
        var composer = app.Services.GetRequiredService<DigestComposer>();
        composer.BatchSize = 4;
        _clock.Now = At(6);
        await store.UpsertAsync(Groups.SelectMany((g, gi) => Enumerable.Range(1, 4).Select(n => Paper($"2611.1{gi}{n:00}", $"A {g} paper number {n}", n * 10))).ToList(), CancellationToken.None);
        _clock.Now = At(7);
        Assert.Equal(28, (await composer.ComposeAsync(Monday, TimeSpan.FromDays(1), CancellationToken.None)).Deliveries);

        var tuesday = Monday.AddDays(1);
        _clock.Now = At(6).AddDays(1);
        await store.UpsertAsync(Groups.Select((g, gi) => Paper($"2611.2{gi}01", $"A {g} paper of the next day", 100)).ToList(), CancellationToken.None);
        _clock.Now = At(7).AddDays(1);
        var next = await composer.ComposeAsync(tuesday, TimeSpan.FromDays(1), CancellationToken.None);
        Assert.Equal(28, next.Deliveries);
        await using var db = await _host.OpenAsync();
        var rows = (await db.QueryAsync<(string Email, long Digest)>("""
            SELECT s.email AS Email, d.digest_id AS Digest FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
            JOIN issues i ON i.id = d.issue_id WHERE i.issue_date = @date ORDER BY d.id
            """, new { date = tuesday.ToString("yyyy-MM-dd") })).ToList();
        foreach (var (email, digest) in rows.Where(r => r.Email != "learner@example.org"))
        {
            var group = Groups[int.Parse(email[1..3]) % 3];
            var titles = (await db.QueryAsync<string>("""
                SELECT e.title FROM digest_entries de JOIN entries e ON e.id = de.entry_id WHERE de.digest_id = @digest AND de.compact < 2 ORDER BY de.position
                """, new { digest })).ToList();
            Assert.Equal([$"A {group} paper of the next day", $"A {group} paper number 1"], titles);
        }
        // One digest per group on the second day too, however many batches its readers were in.
        Assert.Equal(3, rows.Where(r => r.Email != "learner@example.org").Select(r => r.Digest).Distinct().Count());
    }

    private static Entry Paper(string id, string title, int score) =>
        new($"arxiv:{id}", title, "An abstract.", ["A. Author"], $"https://arxiv.org/abs/{id}", null, score, "huggingface");

    private static async Task SetVectorAsync(System.Data.Common.DbConnection connection, string id, float along)
    {
        var vector = new float[PaperVector.Dimensions];
        vector[0] = along;
        vector[1] = MathF.Sqrt(1 - along * along);
        await connection.ExecuteAsync("UPDATE entries SET embedding = @embedding WHERE canonical_id = @id",
            new { id = "arxiv:" + id, embedding = PaperVector.ToBytes(vector) });
    }
}
