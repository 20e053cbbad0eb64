using Newsletter.Tests.Support;

namespace Newsletter.Tests.Storage;

/// <summary>
/// Finding 4 of the hardening review: two processes on a fresh database raced the migrations
/// (19 of 20 trials, one exited 2 with "table entries already exists").
/// </summary>
public sealed class ConcurrentMigrationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeProcessesStartingOnAFreshDatabaseAllSucceedAndMigrateOnce()
    {
        const int Trials = 5, Processes = 3;
        for (var trial = 0; trial < Trials; trial++)
        {
            await using var host = new TestHost();
            var children = Enumerable.Range(1, Processes)
                .Select(i => new ServiceProcess(host, "subscribers", "add", $"reader{i}@example.org", "--confirmed")).ToList();
            try
            {
                foreach (var child in children)
                    Assert.True(await child.WaitAsync(TimeSpan.FromSeconds(60)) == 0, $"trial {trial}: {child}");
                var steps = await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM schema_version");
                Assert.Equal(steps, await host.QueryScalarAsync<long>("SELECT COUNT(DISTINCT version) FROM schema_version"));
                Assert.Equal(steps, await host.QueryScalarAsync<long>("SELECT MAX(version) FROM schema_version"));
                Assert.Equal((long)Processes, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers"));
            }
            finally
            {
                children.ForEach(c => c.Dispose());
            }
        }
        output.WriteLine($"{Trials} trials of {Processes} processes on a fresh database: all exited 0, schema applied once");
    }
}
