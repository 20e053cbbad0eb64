using Newsletter.Storage;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Storage;

/// <summary>SQLite serves one service at a time; the verbs keep working beside it.</summary>
public sealed class SingleServiceTests
{
    [Fact]
    public async Task ASecondServiceOnTheSameSqliteFileIsRefusedWhileVerbsKeepWorking()
    {
        await using var host = new TestHost(provider: DatabaseProvider.Sqlite);
        await host.StartServiceAsync();

        var second = await host.RunAsync("run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}");
        Assert.Equal(1, second.Exit);
        Assert.Contains("Another Newsletter service is already running on", second.Error);
        Assert.Contains("Database:Provider=Postgres", second.Error);
        Assert.Single(second.Error.Trim().Split('\n'), line => line.Contains("Another Newsletter service"));

        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed")).Exit);
        Assert.Contains("ada@example.org\tactive", (await host.RunAsync("subscribers", "list")).Output);
    }
}
