using System.Net;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Newsletter.Storage;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Storage;

/// <summary>Moving from SQLite to PostgreSQL with <c>database copy</c>, and PostgreSQL's own start-up.</summary>
public sealed class DatabaseCopyTests
{
    // Every table the copy knows; a table added by a migration but not to the copy fails this test.
    private static readonly string[] Tables = DatabaseCopy.Tables;

    [Fact]
    public async Task ACopyToPostgresKeepsEveryRowAndLinksMintedBeforeKeepWorking()
    {
        TestPostgres.Require();
        await using var sqlite = new TestHost(provider: DatabaseProvider.Sqlite);
        sqlite.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        // Readers join first: a reader is served the papers collected after they joined.
        await sqlite.RunAsync("subscribers", "add", "ada@example.org", "--confirmed", "--time-zone", "Asia/Tokyo", "--send-hour", "7");
        await sqlite.RunAsync("subscribers", "add", "grace@example.org");
        await sqlite.RunAsync("subscribers", "add", "gone@example.org", "--confirmed");
        // Preferences that match nothing: no mail, a skip row that must travel too.
        await sqlite.RunAsync("subscribers", "add", "picky@example.org", "--confirmed", "--keywords", "zzqqxx");
        await sqlite.RunAsync("collect");
        Assert.Equal(0, (await sqlite.RunAsync("send-now", "--date", "2025-09-08")).Exit);
        foreach (var table in (string[])["digests", "digest_entries", "digest_skips", "entry_sources"])
            Assert.True(await sqlite.QueryScalarAsync<long>($"SELECT COUNT(*) FROM {table}") > 0, table + " is empty before the copy");
        await sqlite.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'gone@example.org'");
        // A paper whose score a later sighting raised: the time of the rise travels too.
        await sqlite.ExecuteAsync("UPDATE entries SET score_raised_at = 1760000000000 WHERE id = (SELECT MIN(id) FROM entries)");
        // Learned ranking: a paper's vector (written directly; the model is Off in tests) and a reader's votes.
        var vector = Enumerable.Range(0, Newsletter.Model.PaperVector.Dimensions).Select(i => MathF.Sin(i + 0.5f)).ToArray();
        await using (var connection = await sqlite.OpenAsync())
            await connection.ExecuteAsync("UPDATE entries SET embedding = @embedding WHERE id = (SELECT MIN(id) FROM entries)",
                new { embedding = Newsletter.Model.PaperVector.ToBytes(Newsletter.Model.PaperVector.Normalised(vector)) });
        var voted = await sqlite.RunAsync("subscribers", "feedback", "ada@example.org", "--like", "2509.04664", "--dislike", "2509.01234");
        Assert.True(voted.Exit == 0, voted.ToString());
        var adaId = await sqlite.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var graceId = await sqlite.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'grace@example.org'");
        // Links as they went out in mail before the move.
        var unsubscribe = sqlite.Service<LinkTokens>().Create(TokenPurpose.Unsubscribe, adaId);
        // A confirmation is bound to the pending episode it was minted for (pending_since).
        var episode = await sqlite.QueryScalarAsync<long>($"SELECT pending_since FROM subscribers WHERE id = {graceId}");
        var confirm = sqlite.Service<LinkTokens>().Create(TokenPurpose.Confirm, graceId, DateTimeOffset.UtcNow.AddDays(7), episode);

        await using var postgres = new TestHost(provider: DatabaseProvider.Postgres);
        var copy = await sqlite.RunAsync("database", "copy", "--to", postgres.ConnectionString, "--provider", "Postgres");
        Assert.True(copy.Exit == 0, copy.ToString());
        Assert.Contains("deliveries: 2 rows", copy.Output);

        foreach (var table in Tables)
            Assert.Equal(await DumpAsync(sqlite, table), await DumpAsync(postgres, table));
        // The papers' cards travel with them (every column of entries is copied): the fixture's AI summary and comments.
        Assert.StartsWith("Language models produce", await postgres.QueryScalarAsync<string>("SELECT ai_summary FROM entries WHERE canonical_id = 'arxiv:2509.04664'"));
        Assert.Equal(3L, await postgres.QueryScalarAsync<long>("SELECT comments FROM entries WHERE canonical_id = 'arxiv:2509.04664'"));
        Assert.Equal(2L, await postgres.QueryScalarAsync<long>("SELECT COUNT(*) FROM votes"));
        await using (var copied = await postgres.OpenAsync())
        {
            var embedding = await copied.ExecuteScalarAsync<byte[]>("SELECT embedding FROM entries WHERE embedding IS NOT NULL");
            Assert.Equal(Newsletter.Model.PaperVector.Normalised(vector), Newsletter.Model.PaperVector.FromBytes(embedding));
        }

        // Copying again into the now non-empty database is refused and changes nothing.
        var again = await sqlite.RunAsync("database", "copy", "--to", postgres.ConnectionString);
        Assert.Equal(1, again.Exit);
        Assert.Contains("not empty", again.Error);

        // The service on PostgreSQL honours the links minted on SQLite, and new rows get new ids.
        var baseUrl = await postgres.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/unsubscribe?token={Uri.EscapeDataString(unsubscribe)}", null)).StatusCode);
        using (var browser = new FormClient(baseUrl))
            Assert.Equal(HttpStatusCode.OK, (await browser.SubmitAsync($"/confirm?token={Uri.EscapeDataString(confirm)}", "/confirm")).Response.StatusCode);
        Assert.Equal("unsubscribed", await postgres.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal("active", await postgres.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'grace@example.org'"));
        Assert.Equal("Asia/Tokyo", await postgres.QueryScalarAsync<string>("SELECT time_zone FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal("zzqqxx", await postgres.QueryScalarAsync<string>("SELECT keywords FROM subscribers WHERE email = 'picky@example.org'"));
        Assert.Equal(0, (await postgres.RunAsync("subscribers", "add", "new@example.org", "--confirmed")).Exit);
        Assert.True(await postgres.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'new@example.org'") > graceId);
    }

    [Fact]
    public async Task ACopyToAnUnreachableServerSaysSoAndWritesNothing()
    {
        await using var sqlite = new TestHost(provider: DatabaseProvider.Sqlite);
        var copy = await sqlite.RunAsync("database", "copy", "--to", $"Host=127.0.0.1;Port={SmtpSink.FreePort()};Database=nowhere;Username=x;Timeout=2");
        Assert.Equal(1, copy.Exit);
        Assert.Contains("Cannot copy to PostgreSQL 127.0.0.1", copy.Error);
        Assert.Contains("nothing was copied", copy.Error);

        var malformed = await sqlite.RunAsync("database", "copy", "--to", "Data Source=elsewhere.db");
        Assert.Equal(2, malformed.Exit);
        Assert.Contains("is not an Npgsql connection string", malformed.Error);
    }

    [Fact]
    public async Task InstancesStartingTogetherMigrateOnceUnderTheAdvisoryLock()
    {
        TestPostgres.Require();
        await using var host = new TestHost(provider: DatabaseProvider.Postgres);
        var databases = Enumerable.Range(0, 4).Select(_ => new Database(DatabaseProvider.Postgres, host.ConnectionString, TimeSpan.FromSeconds(10))).ToList();
        await Task.WhenAll(databases.Select(d => new Migrations(d, NullLogger<Migrations>.Instance).ApplyAsync(CancellationToken.None)));
        databases.ForEach(d => d.Dispose());

        Assert.Equal(Migrations.LatestVersion, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM schema_version"));
        Assert.Equal(Migrations.LatestVersion, await host.QueryScalarAsync<long>("SELECT COUNT(DISTINCT version) FROM schema_version"));
        Assert.True(await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE 'qrtz\\_%'") >= 11);
    }

    [Fact]
    public async Task HealthReportsThePostgresProviderAndTheLiveInstances()
    {
        TestPostgres.Require();
        await using var host = new TestHost(provider: DatabaseProvider.Postgres);
        var baseUrl = await host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };

        JsonElement health = default;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            health = JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement;
            if (health.GetProperty("instances").GetArrayLength() > 0)
                break;
            await Task.Delay(100);
        }
        Assert.Equal("Postgres", health.GetProperty("provider").GetString());
        var instance = Assert.Single(health.GetProperty("instances").EnumerateArray());
        Assert.True(instance.GetProperty("alive").GetBoolean());
        Assert.Equal(instance.GetProperty("id").GetString(), health.GetProperty("self").GetString());
    }

    [Fact]
    public async Task AFormServedByOneInstancePostsToAnother()
    {
        TestPostgres.Require();
        await using var first = new TestHost(provider: DatabaseProvider.Postgres);
        var firstUrl = await first.StartServiceAsync();
        await first.RunAsync("subscribers", "add", "ada@example.org");
        var id = await first.QueryScalarAsync<long>("SELECT id FROM subscribers WHERE email = 'ada@example.org'");
        var episode = await first.QueryScalarAsync<long>($"SELECT pending_since FROM subscribers WHERE id = {id}");
        var token = first.Service<LinkTokens>().Create(TokenPurpose.Confirm, id, DateTimeOffset.UtcNow.AddDays(1), episode);
        // A second instance on the same database: its own process state, the shared key ring.
        await using var second = new TestHost(new() { ["Newsletter:Database:ConnectionString"] = first.ConnectionString }, DatabaseProvider.Postgres);
        var secondUrl = await second.StartServiceAsync();

        using var browser = new FormClient(firstUrl);
        var (response, body) = await browser.SubmitAsync($"{firstUrl}/confirm?token={Uri.EscapeDataString(token)}", $"{secondUrl}/confirm");

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("active", await first.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.True(await first.QueryScalarAsync<long>("SELECT COUNT(*) FROM data_protection_keys") >= 1);
    }

    [Fact]
    public async Task HealthOnSqliteNamesTheProviderAndNoInstances()
    {
        await using var host = new TestHost(provider: DatabaseProvider.Sqlite);
        var baseUrl = await host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var health = JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement;
        Assert.Equal("Sqlite", health.GetProperty("provider").GetString());
        Assert.Equal(JsonValueKind.Null, health.GetProperty("instances").ValueKind);
    }

    private static async Task<string> DumpAsync(TestHost host, string table)
    {
        await using var connection = await host.OpenAsync();
        var key = table switch { "settings" or "rate_limits" => "key", "source_state" or "data_protection_keys" => "name", "issue_entries" => "issue_id, position",
            "digest_entries" => "digest_id, position", "entry_sources" => "entry_id, source", "digest_skips" => "issue_date, subscriber_id", "votes" => "subscriber_id, entry_id", "suppressions" => "address_key", "relay_outages" => "relay", _ => "id" };
        var rows = await connection.QueryAsync($"SELECT * FROM {table} ORDER BY {key}");
        return string.Join("\n", rows.Select(row => string.Join("|", ((IDictionary<string, object?>)row)
            .OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={(p.Value is byte[] bytes ? Convert.ToHexString(bytes) : Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture))}"))));
    }
}
