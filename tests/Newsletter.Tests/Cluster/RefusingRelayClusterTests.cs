using System.Globalization;
using Newsletter.Storage;
using Newsletter.Tests.Support;
using SmtpServer.Protocol;

namespace Newsletter.Tests.Cluster;

/// <summary>
/// Issue 20's measurement: one relay answering <c>554 5.7.1</c> after DATA, shared by one or three
/// service processes on PostgreSQL. Before, each instance started a new run every few seconds
/// (293 messages offered in 70 s by one instance, 241 in 18 s by three); now the relay is out for
/// every instance after one streak and the send is held. The window is 20 s in the suite;
/// <c>NEWSLETTER_MEASURE_SECONDS=70</c> gives the issue's figure.
/// </summary>
[Collection(nameof(SeveralInstancesTests))]
public sealed class RefusingRelayClusterTests(ITestOutputHelper output)
{
    private const int Readers = 2000;
    private const int Connections = 2;
    private const int Streak = 20;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ARelayRefusingTheContentIsOfferedOneStreakNotTheList(int instances)
    {
        TestPostgres.Require();
        var window = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("NEWSLETTER_MEASURE_SECONDS"), out var s) ? s : 20);
        var offered = 0;
        await using var relay = new SmtpSink(new SinkFaults
        {
            AfterData = _ => { Interlocked.Increment(ref offered); return new SmtpResponse((SmtpReplyCode)554, "5.7.1 Message rejected as spam"); },
        });
        await using var host = new TestHost(new()
        {
            ["Newsletter:Schedule:SharedSendPoll"] = "00:00:05",
            ["Newsletter:Schedule:Collect"] = "0 0 0 1 1 ? 2099",
            ["Newsletter:Schedule:TimeZone"] = "UTC",
            ["Newsletter:Secret"] = "one-secret-for-every-instance-0123456789",
        }, DatabaseProvider.Postgres);
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, Readers).Select(i => $"reader{i}@example.org")]);
        Assert.Equal(0, (await host.RunAsync("subscribers", "import", csv, "--confirmed")).Exit);
        Assert.Equal(0, (await host.RunAsync("collect")).Exit);
        var at = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20 + 5 * instances);
        host.Set("Newsletter:Schedule:Digest", $"{at.Second} {at.Minute} {at.Hour} * * ?");

        var nodes = Enumerable.Range(1, instances).Select(i => ServiceNode.Start($"node{i}", host, TimeSpan.Zero, Connections, relay.Port)).ToList();
        try
        {
            foreach (var node in nodes)
                await node.WaitUntilUpAsync(TimeSpan.FromSeconds(60));
            while (DateTimeOffset.UtcNow < at + window)
                await Task.Delay(500);

            output.WriteLine($"{instances} instance(s): {offered} messages offered in {window.TotalSeconds:F0} s");
            Console.WriteLine($"refusing relay, {instances} instance(s): {offered} messages offered in {window.TotalSeconds:F0} s");
            Assert.True(offered >= Streak, $"the digest was not sent at all ({offered} offered)");
            // At most one streak per instance (each counts its own) and what its connections had in flight.
            Assert.True(offered <= instances * (Streak + Connections), $"{offered} offered:\n{string.Join("\n", nodes.Select(n => n.Log))}");
            Assert.Equal(1L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM relay_outages"));
            Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status <> 'active'"));
            Assert.Equal((long)Readers, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'"));
            Assert.All(nodes, n => Assert.Contains("sending is held", n.Log, StringComparison.OrdinalIgnoreCase));
        }
        finally
        {
            foreach (var node in nodes)
                await node.DisposeAsync();
        }
    }
}
