using Newsletter.Tests.Support;

namespace Newsletter.Tests.Scheduling;

/// <summary>The running service, not a verb: Quartz collects at start and sends at the digest cron.</summary>
public sealed class ScheduledDigestTests
{
    [Fact]
    public async Task AtTheConfiguredTimeEveryConfirmedSubscriberGetsOneDigest()
    {
        await using var smtp = new SmtpSink();
        await using var host = new TestHost(new()
        {
            ["Newsletter:Schedule:Digest"] = "0/1 * * * * ?", // every second: several firings on one date
            ["Newsletter:Schedule:Collect"] = "0 0 0 1 1 ? 2099", // only the collection at start-up
            ["Newsletter:Schedule:TimeZone"] = "Europe/Berlin",
        });
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        host.UseSmtp(smtp.Port);
        await host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
        // Pending without its confirmation mail (which `subscribers add` sends), so the sink holds only digests.
        await host.RunAsync("subscribers", "add", "pending@example.org", "--confirmed");
        await host.ExecuteAsync("UPDATE subscribers SET status = 'pending', confirmed_at = NULL WHERE email = 'pending@example.org'");
        var app = host.Build(["--urls", "http://127.0.0.1:0"]);

        await app.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (smtp.Messages.Count < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await Task.Delay(2500); // further firings on the same date must send nothing more
        await app.StopAsync();

        Assert.Single(smtp.To("ada@example.org"));
        Assert.Single(smtp.To("grace@example.org"));
        Assert.Empty(smtp.To("pending@example.org"));
        Assert.Equal(1L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM issues"));
    }
}
