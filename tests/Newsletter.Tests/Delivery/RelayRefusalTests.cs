using System.Diagnostics;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// Finding 1 of the hardening review: a relay refusing the content after DATA turned a whole list
/// into "bounced". Postfix's smtp-sink refuses every message after DATA here.
/// </summary>
public sealed class RelayRefusalTests(ITestOutputHelper output)
{
    private const int Readers = 5000;

    [Fact]
    public async Task EveryMessageRefusedAfterDataStopsTheRunAndSuspendsNobody()
    {
        using var sink = new PostfixSink("-f", ".", "-B", "554 5.7.1 Message rejected as spam");
        await using var host = new TestHost();
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        host.UseSmtp(sink.Port, maxConnections: 4);
        await host.RunAsync("collect");
        await host.ExecuteAsync($"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {Readers})
            INSERT INTO subscribers (email, email_key, status, created_at, confirmed_at)
            SELECT 'reader' || i || '@example.org', 'reader' || i || '@example.org', 'active', 0, 0 FROM n
            """);

        var clock = Stopwatch.StartNew();
        var result = await host.RunAsync("send-now", "--date", "2025-09-08");
        clock.Stop();

        output.WriteLine($"{clock.ElapsedMilliseconds} ms\n{result}");
        Assert.Equal(1, result.Exit);
        Assert.Matches(@"refused 2\d messages in a row \(554 5\.7\.1 Message rejected as spam\)", result.Error);
        Assert.Contains("nobody was suspended", result.Error);
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status <> 'active' OR hard_bounces > 0"));
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status NOT IN ('pending')"));
        // The run stopped near the threshold instead of trying all 5,000 (a few more are in flight on the other connections).
        var attempted = await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE attempts > 0");
        output.WriteLine($"attempted {attempted} of {Readers}");
        Assert.InRange(attempted, 20, 40);
    }
}
