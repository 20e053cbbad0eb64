using Microsoft.Data.Sqlite;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

public sealed class BusyDatabaseTests
{
    [Fact]
    public async Task ALockedDatabaseStopsSendNowCleanlyAndNothingIsLost()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost(new() { ["Newsletter:Database:BusyTimeout"] = "00:00:00.300" });
        // A file lock held by another process is SQLite's own failure mode.
        host.RequireProvider(Newsletter.Storage.DatabaseProvider.Sqlite);
        host.UseSmtp(smtp.Port);
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await host.RunAsync("collect");

        // Another process holds the write lock for longer than the busy timeout.
        await using (var locker = new SqliteConnection($"Data Source={Path.Combine(host.Directory, "newsletter.db")};Pooling=False"))
        {
            await locker.OpenAsync();
            using var command = locker.CreateCommand();
            command.CommandText = "BEGIN EXCLUSIVE";
            await command.ExecuteNonQueryAsync();

            var blocked = await host.RunAsync("send-now", "--date", "2025-09-08");

            Assert.Equal(1, blocked.Exit);
            Assert.Contains("database is locked", blocked.Error);
            Assert.Contains("nothing was lost", blocked.Error);
        }

        var retry = await host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Contains("Delivered: 1 sent", retry.Output);
        Assert.Single(smtp.Messages);
    }
}
