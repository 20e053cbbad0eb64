using System.Net;
using System.Net.Http.Json;
using Microsoft.Data.Sqlite;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Storage;

/// <summary>
/// Finding 6 of the hardening review: a deleted or corrupt database was invisible (/health
/// Healthy, subscribes 202 into a deleted file), and the CLI printed half a list then a stack trace.
/// </summary>
public sealed class StorageFaultTests
{
    private static string DbPath(TestHost host) => Path.Combine(host.Directory, "newsletter.db");

    /// <summary>
    /// A host of the test's own, on SQLite only: the SQLite file itself is the subject. On a
    /// PostgreSQL suite run the test skips, and the host is disposed first (its database dropped).
    /// </summary>
    private static async Task<TestHost> SqliteHostAsync()
    {
        var host = new TestHost();
        try
        {
            host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>The whole service started on the host, and a client for it.</summary>
    private static async Task<HttpClient> ServiceClientAsync(TestHost host) =>
        new() { BaseAddress = new Uri(await host.StartServiceAsync()) };

    /// <summary>
    /// The database made by a first verb, then 3000 readers checkpointed into the main file and no
    /// pooled connection left: damage to the middle of the file lands in the subscribers table.
    /// </summary>
    private static async Task AddThousandsOfReadersAsync(TestHost host)
    {
        await host.RunAsync("subscribers", "list");
        await host.ExecuteAsync("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
            INSERT INTO subscribers (email, email_key, status, created_at) SELECT 'reader' || i || '@example.org', 'reader' || i || '@example.org', 'active', 0 FROM n;
            PRAGMA wal_checkpoint(TRUNCATE);
            """);
        SqliteConnection.ClearAllPools();
    }

    /// <summary>Writes <paramref name="bytes"/> over the database file at <paramref name="position"/> (given the file's length), as a disk fault would.</summary>
    private static async Task OverwriteAsync(TestHost host, Func<long, long> position, byte[] bytes)
    {
        await using var file = new FileStream(DbPath(host), FileMode.Open, FileAccess.Write);
        file.Position = position(file.Length);
        file.Write(bytes);
    }

    [Fact]
    public async Task ADatabaseDeletedUnderTheRunningServiceMakesHealthUnhealthyAndSubscribesFailInsteadOfVanishing()
    {
        await using var host = await SqliteHostAsync();
        using var http = await ServiceClientAsync(host);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        foreach (var file in Directory.GetFiles(host.Directory, "newsletter.db*"))
            File.Delete(file);

        var health = await http.GetAsync("/health");
        var body = await health.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("is gone", body);
        var subscribe = await http.PostAsJsonAsync("/subscribe", new { email = "ada@example.org" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, subscribe.StatusCode);
        Assert.DoesNotContain("   at ", await subscribe.Content.ReadAsStringAsync());
        Assert.False(File.Exists(DbPath(host)), "the service recreated an empty database");
    }

    [Fact]
    public async Task ADatabaseReplacedUnderTheRunningServiceIsUnhealthy()
    {
        await using var host = await SqliteHostAsync();
        using var http = await ServiceClientAsync(host);
        await using (var other = new TestHost())
        {
            await other.RunAsync("subscribers", "list");
            SqliteConnection.ClearAllPools();
            File.Copy(DbPath(other), DbPath(host), overwrite: true);
        }

        var health = await http.GetAsync("/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("was replaced", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ADatabaseMovedOverByACopyOfItselfIsUnhealthyAndTakesNoWrites()
    {
        await using var host = await SqliteHostAsync();
        using var http = await ServiceClientAsync(host);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        // A backup restore: the same bytes (same database_id) under a new inode.
        var db = DbPath(host);
        File.Copy(db, db + ".new");
        File.Move(db + ".new", db, overwrite: true);

        var health = await http.GetAsync("/health");
        var subscribe = await http.PostAsJsonAsync("/subscribe", new { email = "ada@example.org" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("was replaced", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, subscribe.StatusCode);
        Assert.DoesNotContain("   at ", await subscribe.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AFileThatIsNotADatabaseGivesOneSentenceAndExitOne()
    {
        await using var host = await SqliteHostAsync();
        await File.WriteAllTextAsync(DbPath(host), new string('x', 10_000));

        var result = await host.RunAsync("subscribers", "list");

        Assert.Equal(1, result.Exit);
        Assert.Equal("", result.Output);
        Assert.Contains("is damaged or is not a Newsletter database", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task CorruptPagesGiveOneSentenceNotHalfAListAndFailTheIntegrityCheck()
    {
        await using var host = await SqliteHostAsync();
        await AddThousandsOfReadersAsync(host);
        // Zero a run of pages in the middle of the file: the subscribers table's b-tree is broken there.
        await OverwriteAsync(host, length => length / 2 / 4096 * 4096, new byte[4096 * 4]);

        var list = await host.RunAsync("subscribers", "list");
        var export = await host.RunAsync("subscribers", "export");
        var probe = await host.Service<Newsletter.Storage.Database>().IntegrityProblemAsync(CancellationToken.None);

        Assert.Equal(1, list.Exit);
        Assert.Equal("", list.Output);
        Assert.Contains("is damaged", list.Error);
        Assert.DoesNotContain("   at ", list.Error);
        Assert.Equal(1, export.Exit);
        Assert.Equal("", export.Output);
        Assert.NotNull(probe);
        Assert.Contains("damaged", probe);
    }

    [Fact]
    public async Task CollectOnACorruptFileGivesOneSentenceAndExitOne()
    {
        await using var host = await SqliteHostAsync();
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await AddThousandsOfReadersAsync(host);
        // 40 KB of random bytes in the middle of the file.
        await OverwriteAsync(host, length => length / 2, System.Security.Cryptography.RandomNumberGenerator.GetBytes(40 * 1024));

        var collect = await host.RunAsync("collect");

        Assert.Equal(1, collect.Exit);
        Assert.DoesNotContain("new entries", collect.Output);
        Assert.Contains("is damaged", collect.Error);
        Assert.DoesNotContain("   at ", collect.Error);
        Assert.Single(collect.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task AReadOnlyDatabaseGivesOneSentenceAndExitOne()
    {
        await using var host = await SqliteHostAsync();
        await host.RunAsync("subscribers", "add", "ada@example.org");
        host.Set("Newsletter:Database:ConnectionString", $"Data Source={DbPath(host)};Mode=ReadOnly");

        var list = await host.RunAsync("subscribers", "list");
        var add = await host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.Equal(0, list.Exit);
        Assert.Contains("ada@example.org", list.Output);
        Assert.Equal(1, add.Exit);
        Assert.Contains("cannot be written", add.Error);
        Assert.DoesNotContain("   at ", add.Error);
    }
}
