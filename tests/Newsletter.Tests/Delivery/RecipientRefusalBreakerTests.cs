using SmtpServer.Protocol;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// A relay refusing every recipient for a reason of its own (our sender's domain, a policy, a
/// relay permission) at RCPT must stop the run, not suspend the list; real bounces among real
/// deliveries are still bounced, one by one.
/// </summary>
public sealed class RecipientRefusalBreakerTests(ITestOutputHelper output)
{
    private static async Task<TestHost> PrepareAsync(int readers)
    {
        var host = new TestHost();
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await host.RunAsync("collect");
        await host.ExecuteAsync($"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {readers})
            INSERT INTO subscribers (email, email_key, status, created_at, confirmed_at)
            SELECT 'reader' || i || '@example.org', 'reader' || i || '@example.org', 'active', 0, 0 FROM n
            """);
        return host;
    }

    [Theory]
    [InlineData(550, "5.1.8 <digest@localhost>: Sender address rejected: Domain not found")]
    [InlineData(550, "Sender rejected by policy")]
    [InlineData(553, "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)")]
    public async Task EveryRecipientRefusedForTheRelaysOwnReasonStopsTheRunAndSuspendsNobody(int code, string text)
    {
        const int readers = 1000;
        await using var host = await PrepareAsync(readers);
        await using var smtp = new SmtpSink(new SinkFaults { Recipient = _ => new SmtpResponse((SmtpReplyCode)code, text) });
        host.UseSmtp(smtp.Port, maxConnections: 4);

        var result = await host.RunAsync("send-now", "--date", "2025-09-08");

        output.WriteLine(result.ToString());
        Assert.Equal(1, result.Exit);
        Assert.Contains("nobody was suspended", result.Error);
        Assert.Single(result.Error.Split('\n'), line => line.Contains("nobody was suspended"));
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status <> 'active' OR hard_bounces > 0"));
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status <> 'pending'"));
        Assert.InRange(await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE attempts > 0"), 0, 60);
    }

    [Fact]
    public async Task ScatteredHardBouncesAreEachSuspendedAndNoOneElse()
    {
        const int readers = 999;
        await using var host = await PrepareAsync(readers);
        // Every 9th reader is unknown: 111 of 999, each refusal naming its own address.
        static bool Unknown(string address) => int.Parse(address["reader".Length..address.IndexOf('@')]) % 9 == 0;
        await using var smtp = new SmtpSink(new SinkFaults
        {
            Recipient = address => Unknown(address) ? new SmtpResponse((SmtpReplyCode)550, $"5.1.1 <{address}>: Recipient address rejected: User unknown") : null,
        });
        host.UseSmtp(smtp.Port, maxConnections: 4);

        var result = await host.RunAsync("send-now", "--date", "2025-09-08");

        output.WriteLine(result.ToString());
        Assert.Equal(0, result.Exit);
        Assert.Equal(111L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status = 'bounced'"));
        Assert.Equal(111L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'bounced'"));
        Assert.Equal(888, smtp.Messages.Count);
    }

    [Fact]
    public async Task TheFirstReaderRefusedStillBouncesWhenTheRestAreAccepted()
    {
        await using var host = await PrepareAsync(30);
        await using var smtp = new SmtpSink(new SinkFaults
        {
            Recipient = address => address == "reader1@example.org" ? new SmtpResponse((SmtpReplyCode)550, "no such user") : null,
        });
        host.UseSmtp(smtp.Port, maxConnections: 1);

        var result = await host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, result.Exit);
        Assert.Equal("bounced", await host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader1@example.org'"));
        Assert.Equal(29, smtp.Messages.Count);
    }
}
