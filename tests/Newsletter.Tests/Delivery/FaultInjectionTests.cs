using System.Collections.Concurrent;
using SmtpServer.Protocol;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>Faults injected by a real SMTP server (the SmtpServer package) answering per recipient.</summary>
public sealed class FaultInjectionTests : IAsyncLifetime
{
    private readonly TestHost _host = new(new()
    {
        ["Newsletter:Delivery:RetryInitialDelay"] = "00:00:00.100",
        ["Newsletter:Delivery:RetryMaxDelay"] = "00:00:00.200",
    });

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private async Task AddSubscribersAsync(int count, string prefix = "reader")
    {
        var csv = Path.Combine(_host.Directory, $"{prefix}.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, count).Select(i => $"{prefix}{i}@example.org")]);
        Assert.Equal(0, (await _host.RunAsync("subscribers", "import", csv, "--confirmed")).Exit);
        // Readers from before the papers were collected (a new reader starts with papers collected after joining).
        await _host.ExecuteAsync("UPDATE subscribers SET served_until = 0");
    }

    /// <summary>Runs send-now (as cron retries would) until nothing is pending any more.</summary>
    private async Task<List<CliResult>> SendUntilSettledAsync(int maxRuns = 20)
    {
        var runs = new List<CliResult>();
        for (var i = 0; i < maxRuns; i++)
        {
            runs.Add(await _host.RunAsync("send-now", "--date", "2025-09-08"));
            if (await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')") == 0)
                return runs;
            await Task.Delay(250);
        }
        throw new TimeoutException("deliveries still pending after " + maxRuns + " runs:\n" + runs[^1]);
    }

    private static SmtpResponse Reply(int code, string text) => new((SmtpReplyCode)code, text);

    [Fact]
    public async Task RecipientsRefusedTwiceWith451AreEachDeliveredExactlyOnce()
    {
        var refusals = new ConcurrentDictionary<string, int>();
        await using var smtp = new SmtpSink(new SinkFaults
        {
            Recipient = address => refusals.AddOrUpdate(address, 1, (_, n) => n + 1) <= 2 ? Reply(451, "4.7.1 try again later") : null,
        });
        _host.UseSmtp(smtp.Port);
        await AddSubscribersAsync(20);

        var runs = await SendUntilSettledAsync();

        Assert.Contains("0 sent, 20 deferred", runs[0].Output);
        Assert.Equal(20, smtp.Messages.Count);
        Assert.All(Enumerable.Range(1, 20), i => Assert.Single(smtp.To($"reader{i}@example.org")));
        Assert.Equal(60L, await _host.QueryScalarAsync<long>("SELECT SUM(attempts) FROM deliveries"));
        Assert.Equal(20L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
    }

    [Fact]
    public async Task OneHardBounceAmongAHundredIsBouncedAndSuspendedWithoutRetry()
    {
        await using var smtp = new SmtpSink(new SinkFaults
        {
            Recipient = address => address.StartsWith("bounce", StringComparison.Ordinal) ? Reply(550, "5.1.1 user unknown") : null,
        });
        _host.UseSmtp(smtp.Port);
        await AddSubscribersAsync(99);
        await AddSubscribersAsync(1, "bounce");

        var first = await _host.RunAsync("send-now", "--date", "2025-09-08");
        var second = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Contains("99 sent, 0 deferred, 1 failed (1 bounced", first.Output);
        Assert.Contains("0 sent, 0 deferred, 0 failed", second.Output);
        Assert.Equal(99, smtp.Messages.Count);
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT attempts FROM deliveries WHERE status = 'bounced'"));
        Assert.Contains("bounce1@example.org\tbounced\t550", (await _host.RunAsync("subscribers", "list")).Output);
    }

    [Fact]
    public async Task A554AfterDataDefersThatMessageAndSuspendsNobody()
    {
        await using var smtp = new SmtpSink(new SinkFaults
        {
            AfterData = message => message.To.Mailboxes.Single().Address == "reader2@example.org" ? Reply(554, "5.7.1 message content rejected") : null,
        });
        _host.UseSmtp(smtp.Port, maxConnections: 1);
        await AddSubscribersAsync(3);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Contains("2 sent, 1 deferred, 0 failed (0 bounced", result.Output);
        Assert.StartsWith("message refused: 554", await _host.QueryScalarAsync<string>("SELECT last_error FROM deliveries WHERE status = 'pending'"));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status <> 'active' OR hard_bounces <> 0"));
    }

    [Theory]
    [InlineData(550, "5.1.1 user unknown", "bounced")]
    [InlineData(550, "no such user", "bounced")]
    [InlineData(550, "5.2.1 mailbox disabled", "bounced")]
    [InlineData(552, "5.2.2 mailbox full", "pending")]
    [InlineData(554, "5.7.1 relay access denied", "pending")]
    [InlineData(550, "5.7.1 sender IP on a block list", "pending")]
    [InlineData(554, "5.6.0 content refused", "pending")]
    public async Task ARecipientRefusalIsJudgedByItsEnhancedStatusCode(int code, string text, string expected)
    {
        await using var smtp = new SmtpSink(new SinkFaults
        {
            Recipient = address => address == "reader1@example.org" ? Reply(code, text) : null,
        });
        _host.UseSmtp(smtp.Port, maxConnections: 1);
        await AddSubscribersAsync(2);

        await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(expected, await _host.QueryScalarAsync<string>("SELECT d.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'reader1@example.org'"));
        Assert.Equal(expected == "bounced" ? "bounced" : "active", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'reader1@example.org'"));
        Assert.Equal("sent", await _host.QueryScalarAsync<string>("SELECT d.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'reader2@example.org'"));
    }

    [Fact]
    public async Task AuthenticationRefusedStopsTheRunAndMarksNothing()
    {
        await using var smtp = new SmtpSink(new SinkFaults { Credentials = ("digest", "right") });
        _host.UseSmtp(smtp.Port);
        _host.Set("Newsletter:Smtp:Username", "digest");
        _host.Set("Newsletter:Smtp:Password", "wrong");
        await AddSubscribersAsync(5);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(1, result.Exit);
        Assert.Contains("refused authentication", result.Error);
        Assert.Empty(smtp.Messages);
        Assert.Equal(5L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 0"));

        _host.Set("Newsletter:Smtp:Password", "right");
        Assert.Contains("5 sent", (await _host.RunAsync("send-now", "--date", "2025-09-08")).Output);
    }

    [Fact]
    public async Task ASenderRefusedWith5xxStopsTheRunAndMarksNothing()
    {
        await using var smtp = new SmtpSink(new SinkFaults { Sender = Reply(553, "5.7.1 sender not allowed") });
        _host.UseSmtp(smtp.Port);
        await AddSubscribersAsync(5);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(1, result.Exit);
        Assert.Contains("refused the sender", result.Error);
        Assert.Equal(5L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 0"));
    }

    [Fact]
    public async Task AConnectionDroppedAfterDataIsResentWithTheSameMessageId()
    {
        var dropped = 0;
        await using var smtp = new SmtpSink(new SinkFaults
        {
            DropAfterData = message => message.To.Mailboxes.Single().Address == "reader2@example.org" && Interlocked.Increment(ref dropped) == 1,
        });
        _host.UseSmtp(smtp.Port, maxConnections: 1);
        await AddSubscribersAsync(3);

        var runs = await SendUntilSettledAsync();

        Assert.Contains("2 sent, 1 deferred", runs[0].Output);
        var copies = smtp.To("reader2@example.org");
        Assert.Equal(2, copies.Count);
        Assert.Equal(copies[0].MessageId, copies[1].MessageId);
        Assert.Single(smtp.To("reader1@example.org"));
        Assert.Single(smtp.To("reader3@example.org"));
    }

    [Fact]
    public async Task MessagesPerSecondIsOneRateForAllConnections()
    {
        var arrivals = new ConcurrentQueue<DateTime>();
        await using var smtp = new SmtpSink(new SinkFaults { Recipient = _ => { arrivals.Enqueue(DateTime.UtcNow); return null; } });
        _host.UseSmtp(smtp.Port, maxConnections: 4);
        _host.Set("Newsletter:Smtp:MessagesPerSecond", "20");
        await AddSubscribersAsync(40);

        await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(40, smtp.Messages.Count);
        var span = arrivals.Max() - arrivals.Min();
        // 40 messages at 20/s take at least ~1.8 s whatever the number of connections.
        Assert.True(span >= TimeSpan.FromSeconds(1.5), $"40 messages arrived within {span}");
    }

    [Fact]
    public async Task AnIssueOlderThanMaxAgeIsNotSentAnyMore()
    {
        await using var smtp = new SmtpSink();
        _host.UseSmtp(smtp.Port);
        await AddSubscribersAsync(3);
        _host.UseSmtp(SmtpSink.FreePort()); // relay down at digest time
        await _host.RunAsync("send-now", "--date", "2025-09-08");
        await _host.ExecuteAsync($"UPDATE issues SET composed_at = composed_at - {(long)TimeSpan.FromHours(21).TotalMilliseconds}");
        _host.UseSmtp(smtp.Port);

        var late = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, late.Exit);
        Assert.Contains("0 sent, 0 deferred, 3 failed (0 bounced, 3 expired)", late.Output);
        Assert.Empty(smtp.Messages);
        Assert.Equal(3L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'expired'"));
    }

    [Fact]
    public async Task TransientFailuresPastTheRetryWindowExpire()
    {
        await using var smtp = new SmtpSink(new SinkFaults { Recipient = _ => Reply(450, "4.2.0 mailbox busy") });
        _host.UseSmtp(smtp.Port);
        _host.Set("Newsletter:Delivery:RetryWindow", "00:00:00.500");
        await AddSubscribersAsync(2);

        var runs = await SendUntilSettledAsync();

        Assert.Contains("2 expired", runs[^1].Output);
        Assert.Equal(2L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'expired'"));
        Assert.StartsWith("450 4.2.0 mailbox busy", await _host.QueryScalarAsync<string>("SELECT last_error FROM deliveries LIMIT 1"));
    }
}
