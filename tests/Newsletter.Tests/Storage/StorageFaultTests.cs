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

    [Fact]
    public async Task ADatabaseDeletedUnderTheRunningServiceMakesHealthUnhealthyAndSubscribesFailInsteadOfVanishing()
    {
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
        var baseUrl = await host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
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
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
        var baseUrl = await host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
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
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
        var baseUrl = await host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
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
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
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
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
        await host.RunAsync("subscribers", "list");
        await host.ExecuteAsync("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
            INSERT INTO subscribers (email, email_key, status, created_at) SELECT 'reader' || i || '@example.org', 'reader' || i || '@example.org', 'active', 0 FROM n;
            PRAGMA wal_checkpoint(TRUNCATE);
            """);
        SqliteConnection.ClearAllPools();
        // Zero a run of pages in the middle of the file: the subscribers table's b-tree is broken there.
        await using (var file = new FileStream(DbPath(host), FileMode.Open, FileAccess.Write))
        {
            file.Position = file.Length / 2 / 4096 * 4096;
            file.Write(new byte[4096 * 4]);
        }

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
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await host.RunAsync("subscribers", "list");
        await host.ExecuteAsync("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
            INSERT INTO subscribers (email, email_key, status, created_at) SELECT 'reader' || i || '@example.org', 'reader' || i || '@example.org', 'active', 0 FROM n;
            PRAGMA wal_checkpoint(TRUNCATE);
            """);
        SqliteConnection.ClearAllPools();
        // 40 KB of random bytes in the middle of the file.
        await using (var file = new FileStream(DbPath(host), FileMode.Open, FileAccess.Write))
        {
            file.Position = file.Length / 2;
            file.Write(System.Security.Cryptography.RandomNumberGenerator.GetBytes(40 * 1024));
        }

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
        await using var host = new TestHost();
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite); // the SQLite file itself is the subject
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
