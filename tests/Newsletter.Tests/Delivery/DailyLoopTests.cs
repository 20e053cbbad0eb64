using MimeKit;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>The daily loop end to end: feeds over HTTP, SQLite, the shipped templates, a real SMTP server.</summary>
public sealed class DailyLoopTests : IAsyncLifetime
{
    private static readonly string[] Active = ["ada@example.org", "grace@example.org", "Alan+papers@Example.org"];

    private FixtureServer _feeds = null!;
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Serve("/hf", "hf_daily_papers.json");
        _feeds.Serve("/rss", "arxiv_rss_cs.AI.xml");
        _host.UseSources(("hf", "HuggingFaceDaily", _feeds.Url("/hf")), ("rss", "Rss", _feeds.Url("/rss")));
        _host.UseSmtp(_smtp.Port);
        foreach (var address in Active)
            Assert.Equal(0, (await _host.RunAsync("subscribers", "add", address, "--confirmed")).Exit);
        // Pending without its confirmation mail (which `subscribers add` sends), so the sink holds only digests.
        await _host.RunAsync("subscribers", "add", "pending@example.org", "--confirmed");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'pending', confirmed_at = NULL WHERE email = 'pending@example.org'");
        await _host.RunAsync("subscribers", "add", "gone@example.org", "--confirmed");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'gone@example.org'");
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
        await _feeds.DisposeAsync();
    }

    [Fact]
    public async Task EveryConfirmedSubscriberGetsOneDigestWithEveryPaper()
    {
        await _host.RunAsync("collect");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, result.Exit);
        Assert.Contains("Delivered: 3 sent, 0 deferred, 0 failed", result.Output);
        Assert.Equal(3, _smtp.Messages.Count);
        string[] titles = ["Why Language Models Hallucinate", "Cross-listed Planning Benchmark",
            "Mass concentration in rescaled first order integral functionals", "A Composed Example Paper With Code"];
        foreach (var address in new[] { "ada@example.org", "grace@example.org", "Alan+papers@example.org" })
        {
            var message = Assert.Single(_smtp.To(address));
            foreach (var title in titles)
            {
                Assert.Contains(title, message.TextBody);
                Assert.Contains(title, message.HtmlBody);
            }
            var unsubscribe = message.Headers[HeaderId.ListUnsubscribe]!;
            Assert.Matches(@"^<https://papers\.example\.org/unsubscribe\?token=[A-Za-z0-9_\-]+>$", unsubscribe);
            Assert.Equal("List-Unsubscribe=One-Click", message.Headers["List-Unsubscribe-Post"]);
            Assert.Contains(unsubscribe.Trim('<', '>'), message.TextBody);
            Assert.Contains(unsubscribe.Trim('<', '>'), message.HtmlBody);
            Assert.StartsWith("digest.20250908.", message.MessageId);
            Assert.Equal("Daily Papers: 4 new papers for Monday, 8 September 2025", message.Subject);
        }
        Assert.Empty(_smtp.To("pending@example.org"));
        Assert.Empty(_smtp.To("gone@example.org"));
        Assert.Equal(3L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent' AND sent_at IS NOT NULL"));
    }

    [Fact]
    public async Task PapersAreRankedByScoreThenRecency()
    {
        await _host.RunAsync("collect");

        await _host.RunAsync("send-now", "--date", "2025-09-08");

        var text = _smtp.Messages.First().TextBody!;
        Assert.True(text.IndexOf("Why Language Models Hallucinate", StringComparison.Ordinal)
                    < text.IndexOf("Cross-listed Planning Benchmark", StringComparison.Ordinal), "the upvoted paper comes first");
    }

    [Fact]
    public async Task ASecondSendTheSameDaySendsNothing()
    {
        await _host.RunAsync("collect");
        await _host.RunAsync("send-now", "--date", "2025-09-08");

        var again = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, again.Exit);
        Assert.Contains("already composed", again.Output);
        Assert.Contains("Delivered: 0 sent", again.Output);
        Assert.Equal(3, _smtp.Messages.Count);
    }

    [Fact]
    public async Task ADayWithoutNewEntriesSendsNothing()
    {
        await _host.RunAsync("collect");
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        await _host.RunAsync("collect"); // nothing new: the feeds answer 304

        var nextDay = await _host.RunAsync("send-now", "--date", "2025-09-09");

        Assert.Equal(0, nextDay.Exit);
        Assert.Contains("no new entries", nextDay.Output);
        Assert.Equal(3, _smtp.Messages.Count);
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM issues"));
    }

    [Fact]
    public async Task NextIssueCarriesOnlyPapersFirstSeenSinceThePreviousOne()
    {
        await _host.RunAsync("collect");
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        _feeds.Serve("/api", "arxiv_api_query.xml"); // an already known paper
        _feeds.Serve("/json", "jsonfeed_1_1.json");  // one known, one new
        _host.UseSources(("api", "ArxivApi", _feeds.Url("/api")), ("json", "JsonFeed", _feeds.Url("/json")));
        await _host.RunAsync("collect");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-09");

        Assert.Contains("composed with 1 entries for 3 subscribers", result.Output);
        var second = _smtp.To("ada@example.org").Single(m => m.MessageId!.StartsWith("digest.20250909."));
        Assert.Contains("Micro-post without title", second.TextBody);
        Assert.DoesNotContain("Why Language Models Hallucinate", second.TextBody);
    }

    [Fact]
    public async Task AnUnreachableRelayStopsTheRunAndMarksNothingSent()
    {
        await _host.RunAsync("collect");
        _host.UseSmtp(SmtpSink.FreePort());

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.NotEqual(0, result.Exit);
        Assert.Contains("unreachable", result.Error);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status <> 'pending'"));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COALESCE(SUM(attempts), 0) FROM deliveries"));

        _host.UseSmtp(_smtp.Port);
        var retry = await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Contains("Delivered: 3 sent", retry.Output);
    }

    [Fact]
    public async Task RefusedRecipientIsBouncedAndSuspendedWhileOthersAreDelivered()
    {
        await using var picky = new SmtpSink(address => address.StartsWith("grace", StringComparison.Ordinal)
            ? new SmtpServer.Protocol.SmtpResponse((SmtpServer.Protocol.SmtpReplyCode)550, "5.1.1 no such user")
            : null);
        _host.UseSmtp(picky.Port);
        await _host.RunAsync("collect");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, result.Exit);
        Assert.Contains("2 sent, 0 deferred, 1 failed (1 bounced", result.Output);
        var list = await _host.RunAsync("subscribers", "list");
        Assert.Contains("grace@example.org\tbounced\t550", list.Output);
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'grace@example.org'"));
    }

    [Fact]
    public async Task TemporarilyRefusedRecipientIsDeferredWithBackoff()
    {
        await using var busy = new SmtpSink(address => address.StartsWith("ada", StringComparison.Ordinal)
            ? new SmtpServer.Protocol.SmtpResponse((SmtpServer.Protocol.SmtpReplyCode)451, "4.2.1 try later")
            : null);
        _host.UseSmtp(busy.Port);
        await _host.RunAsync("collect");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, result.Exit);
        Assert.Contains("2 sent, 1 deferred", result.Output);
        Assert.True(await _host.QueryScalarAsync<long>(
            $"SELECT next_attempt_at - {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'ada@example.org' AND d.status = 'pending'")
            > TimeSpan.FromMinutes(3).TotalMilliseconds);
    }
}
