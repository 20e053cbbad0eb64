using System.Text.Json;
using System.Text.RegularExpressions;
using Newsletter.Storage;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cluster;

/// <summary>
/// The service against a PostgreSQL server of the test's own that is late, never comes, or goes
/// away for a while under three instances: it waits, gives up in one sentence, and says an outage
/// in one line when it starts and one when it ends, never a stack trace.
/// </summary>
[Collection(nameof(SeveralInstancesTests))]
public sealed partial class DatabaseComesAndGoesTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"is not reachable yet \(.+\); attempt \d+, next in")]
    private static partial Regex NotYetLine();

    [Fact]
    public async Task AServiceStartedBeforeItsDatabaseWaitsAndServesOnceTheDatabaseIsUp()
    {
        using var cluster = PostgresCluster.Create();
        await using var host = HostOn(cluster);
        await using var node = ServiceNode.Start("early", host, TimeSpan.Zero, 1);

        await Task.Delay(TimeSpan.FromSeconds(30));
        Assert.False(node.HasExited, node.Log);
        var waiting = node.Log;
        cluster.Start();
        var upAt = DateTimeOffset.UtcNow;
        await node.WaitUntilUpAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"up {(DateTimeOffset.UtcNow - upAt).TotalSeconds:F1} s after the database; waiting log:\n{waiting}");

        // One line per attempt (backing off: about six in 30 s), never a trace.
        var attempts = NotYetLine().Matches(waiting).Count;
        Assert.InRange(attempts, 4, 12);
        Assert.Equal(attempts, waiting.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("   at ", node.Log);
        // Serving normally: healthy, migrated, the start-up collect stored its papers.
        using var http = new HttpClient { BaseAddress = new Uri(node.BaseUrl) };
        var health = JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement;
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        await WaitForAsync(async () => await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM entries") > 0, TimeSpan.FromSeconds(30), node.Log);
        Assert.Contains("is reachable after", node.Log);
    }

    [Fact]
    public async Task PastTheStartupTimeoutTheServiceExitsWithOneSentence()
    {
        // A port where nothing listens: no server, not even binaries, are needed.
        var port = SmtpSink.FreePort();
        await using var host = new TestHost(new()
        {
            ["Newsletter:Database:ConnectionString"] = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres",
            ["Newsletter:Database:StartupTimeout"] = "00:00:04",
        }, DatabaseProvider.Postgres);
        using var service = new ServiceProcess(host, "run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}");

        var started = DateTimeOffset.UtcNow;
        var exit = await service.WaitAsync(TimeSpan.FromSeconds(60));
        var took = DateTimeOffset.UtcNow - started;
        output.WriteLine($"gave up after {took.TotalSeconds:F1} s\n{service}");

        Assert.Equal(1, exit);
        Assert.InRange(took, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(30));
        Assert.InRange(NotYetLine().Matches(service.Output + service.Error).Count, 2, 4);
        var sentence = Assert.Single(service.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            line => !line.StartsWith("warn:", StringComparison.Ordinal) && !line.StartsWith("info:", StringComparison.Ordinal));
        Assert.Equal($"The database PostgreSQL 127.0.0.1:{port}/postgres is unavailable (Failed to connect to 127.0.0.1:{port}).", sentence);
        Assert.DoesNotContain("   at ", service.Output + service.Error);
    }

    [Fact]
    public async Task AThirtySecondOutageUnderThreeInstancesIsTwoLinesEachAndNoStackTrace()
    {
        using var cluster = PostgresCluster.Create();
        cluster.Start();
        await using var host = HostOn(cluster);
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "reader@example.org", "--confirmed")).Exit);
        var nodes = new List<ServiceNode>();
        try
        {
            for (var i = 1; i <= 3; i++)
                nodes.Add(ServiceNode.Start($"node{i}", host, TimeSpan.Zero, 1));
            foreach (var node in nodes)
                await node.WaitUntilUpAsync(TimeSpan.FromSeconds(60));
            var before = nodes.Select(n => n.Log.Length).ToList();

            cluster.Stop();
            // Meanwhile: the shared send polls, Quartz checks in, and a visitor asks for pages.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            for (var second = 0; second < 30; second += 5)
            {
                foreach (var node in nodes)
                {
                    var health = await http.GetAsync(node.BaseUrl + "/health");
                    Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
                }
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
            cluster.Start();
            foreach (var node in nodes)
                await WaitForAsync(() => Task.FromResult(node.Log.Contains("is reachable again after")), TimeSpan.FromSeconds(30), node.Log);
            // A little longer: what would fail once more after the server is back (dead pooled connections) fails now.
            await Task.Delay(TimeSpan.FromSeconds(8));

            for (var i = 0; i < nodes.Count; i++)
            {
                var during = nodes[i].Log[before[i]..];
                output.WriteLine($"--- {nodes[i].Name} during and after the outage:\n{during}");
                var lines = during.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Single(lines, line => line.Contains("is unreachable (", StringComparison.Ordinal));
                Assert.Single(lines, line => line.Contains("is reachable again after", StringComparison.Ordinal));
                Assert.Equal(2, lines.Count(line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal)));
                Assert.DoesNotContain("   at ", during);
                Assert.DoesNotContain("Exception", during);
                Assert.False(nodes[i].HasExited, nodes[i].Log);
            }
            // And each serves again.
            foreach (var node in nodes)
                Assert.Equal("Healthy", JsonDocument.Parse(await http.GetStringAsync(node.BaseUrl + "/health")).RootElement.GetProperty("status").GetString());
        }
        finally
        {
            foreach (var node in nodes)
                await node.DisposeAsync();
        }
    }

    /// <summary>A host whose database is the test's own cluster (created by the service's migrations, dropped with the cluster).</summary>
    private static TestHost HostOn(PostgresCluster cluster)
    {
        var host = new TestHost(new()
        {
            ["Newsletter:Database:ConnectionString"] = cluster.ConnectionString,
            ["Newsletter:Schedule:Collect"] = "0 0 0 1 1 ? 2099",
            ["Newsletter:Schedule:Digest"] = "0 0 0 1 1 ? 2099",
            ["Newsletter:Schedule:SharedSendPoll"] = "00:00:00.500",
            ["Newsletter:Secret"] = "one-secret-for-every-instance-0123456789",
        }, DatabaseProvider.Postgres);
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        return host;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string log)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (Npgsql.NpgsqlException) { } // not up yet
            if (DateTimeOffset.UtcNow > deadline)
                throw new TimeoutException($"not within {timeout}:\n{log}");
            await Task.Delay(250);
        }
    }
}
