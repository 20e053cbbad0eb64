using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newsletter.Delivery;
using Newsletter.Tests.Support;
using SmtpServer.Protocol;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// A relay that refuses the content (<c>554 5.7.1</c> after DATA) is out for every instance, with a
/// growing cool-down and one probe message after it; with no relay left the send is held, readers untouched.
/// </summary>
public sealed class ContentRefusalTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Readers = 40;
    private const int Streak = 5;
    private static readonly SmtpResponse Spam = new((SmtpReplyCode)554, "5.7.1 Message rejected as spam");

    private readonly TestHost _host = new(new()
    {
        ["Newsletter:Smtp:Timeout"] = "00:00:05",
        ["Newsletter:Delivery:MaxConsecutiveRefusals"] = Streak.ToString(CultureInfo.InvariantCulture),
        ["Newsletter:Delivery:RetryInitialDelay"] = "00:00:01",
        ["Newsletter:Delivery:RetryMaxDelay"] = "00:00:01",
        ["Newsletter:Smtp:RelayContentCooldown"] = "00:00:03",
        // The test dispatches itself, as the scheduled jobs would: none of them interferes.
        ["Newsletter:Schedule:SharedSendPoll"] = "01:00:00",
        ["Newsletter:Schedule:RetryPoll"] = "01:00:00",
    });

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, Readers).Select(i => $"reader{i}@example.org")]);
        await _host.RunAsync("subscribers", "import", csv, "--confirmed");
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ARelayRefusingTheContentLosesItsShareAndEveryDigestArrivesOnceThroughTheOther()
    {
        var offered = 0;
        await using var refusing = new SmtpSink(new SinkFaults { AfterData = _ => { Interlocked.Increment(ref offered); return Spam; } });
        await using var good = new SmtpSink();
        UseRelay(0, refusing.Port);
        UseRelay(1, good.Port);

        var first = await _host.RunAsync("send-now", "--date", "2025-09-08");
        output.WriteLine(first.ToString());
        // What the first run deferred is sent by the scheduled passes that follow, through the good relay only.
        var baseUrl = await _host.StartServiceAsync();
        var dispatcher = _host.Service<Dispatcher>();
        for (var pass = 0; pass < 20 && await PendingAsync() > 0; pass++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(600));
            output.WriteLine((await dispatcher.DispatchAsync(null, CancellationToken.None)).ToString());
        }

        var received = good.Messages.Select(m => m.To.Mailboxes.Single().Address).ToList();
        Assert.Equal(Readers, received.Count);
        Assert.Equal(Readers, received.Distinct().Count());
        Assert.Empty(refusing.Messages);
        // Out after the streak (a message or two in flight on its other connection may follow), and never again.
        Assert.InRange(offered, Streak, Streak + 2);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status <> 'active' OR hard_bounces > 0"));
        Assert.Equal(1L, await _host.QueryScalarAsync<long>($"SELECT COUNT(*) FROM relay_outages WHERE relay = '127.0.0.1:{refusing.Port}'"));

        var health = await _host.Service<HealthCheckService>().CheckHealthAsync();
        var relays = health.Entries["relays"];
        Assert.Equal(HealthStatus.Degraded, relays.Status);
        Assert.Contains($"127.0.0.1:{refusing.Port} out of rotation for every instance", relays.Description);
        Assert.Contains("554 5.7.1 Message rejected as spam", relays.Description);
        Assert.Equal(HealthStatus.Healthy, health.Entries["sending"].Status);
        Assert.Single(_host.Logs, line => line.Contains("taken out of rotation for every instance", StringComparison.Ordinal));
        // The JSON body names it too: out, until when, and the reply.
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var body = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement;
        var outRelay = body.GetProperty("relays").EnumerateArray().Single(r => r.GetProperty("relay").GetString() == $"127.0.0.1:{refusing.Port}");
        Assert.Equal("out", outRelay.GetProperty("state").GetString());
        Assert.Contains("554 5.7.1", outRelay.GetProperty("outForEveryInstance").GetProperty("reason").GetString());
        Assert.True(outRelay.GetProperty("outForEveryInstance").GetProperty("until").GetDateTimeOffset() > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task NoRelayLeftHoldsTheSendUntilAProbePasses()
    {
        var offered = 0;
        var refuse = true;
        await using var relay = new SmtpSink(new SinkFaults
        {
            AfterData = _ => { Interlocked.Increment(ref offered); return Volatile.Read(ref refuse) ? Spam : null; },
        });
        _host.UseSmtp(relay.Port, maxConnections: 2);
        // Another instance (a service on the same database), up before the send so the cool-down is not spent starting it.
        await _host.StartServiceAsync();
        var other = _host.Service<IServiceProvider>();

        var first = await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Equal(1, first.Exit);
        var afterStreak = offered;
        Assert.InRange(afterStreak, Streak, Streak + 2);

        // The other instance finds the send held: nothing is offered.
        var held = await other.GetRequiredService<Dispatcher>().DispatchAsync(null, CancellationToken.None);
        Assert.Contains("sending is held: no relay accepts the content", held.RunFailure);
        Assert.Contains("554 5.7.1", held.RunFailure);
        Assert.Equal(afterStreak, offered);
        var health = await other.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, health.Entries["sending"].Status);
        Assert.Contains($"127.0.0.1:{relay.Port} out of rotation", health.Entries["sending"].Description);
        Assert.Equal(HealthStatus.Unhealthy, health.Entries["relays"].Status);

        // After the cool-down one message is the probe; refused, the relay is out for twice as long.
        await Task.Delay(TimeSpan.FromSeconds(3.2));
        var refusedProbe = await other.GetRequiredService<Dispatcher>().DispatchAsync(null, CancellationToken.None);
        output.WriteLine(refusedProbe.ToString());
        output.WriteLine(string.Join("\n", _host.Logs));
        Assert.NotNull(refusedProbe.RunFailure);
        Assert.Equal(afterStreak + 1, offered);
        Assert.Equal(2L, await _host.QueryScalarAsync<long>("SELECT strikes FROM relay_outages"));
        var outFor = await _host.QueryScalarAsync<long>("SELECT out_until - since FROM relay_outages");
        Assert.InRange(outFor, 9000, 14000); // 3 s cool-down, then twice that from the refused probe
        Assert.Contains("sending is held", (await other.GetRequiredService<Dispatcher>().DispatchAsync(null, CancellationToken.None)).RunFailure);
        Assert.Equal(afterStreak + 1, offered);

        // The relay recovers: the next probe passes, the relay is back and the rest go out, each once.
        Volatile.Write(ref refuse, false);
        await Task.Delay(TimeSpan.FromSeconds(6.2));
        for (var pass = 0; pass < 20 && await PendingAsync() > 0; pass++)
        {
            await other.GetRequiredService<Dispatcher>().DispatchAsync(null, CancellationToken.None);
            await Task.Delay(TimeSpan.FromMilliseconds(600));
        }
        var received = relay.Messages.Select(m => m.To.Mailboxes.Single().Address).ToList();
        Assert.Equal(Readers, received.Count);
        Assert.Equal(Readers, received.Distinct().Count());
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM relay_outages"));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE status <> 'active' OR hard_bounces > 0"));
        Assert.Single(_host.Logs, line => line.Contains("taken out of rotation for every instance", StringComparison.Ordinal));
        Assert.Single(_host.Logs, line => line.Contains("refused the probe message", StringComparison.Ordinal));
        Assert.Single(_host.Logs, line => line.Contains("is back in rotation for every instance", StringComparison.Ordinal));
        Assert.Contains(_host.Logs, line => line.Contains("Sending is held for every instance", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SendNowResumesAHeldSend()
    {
        var refuse = true;
        await using var relay = new SmtpSink(new SinkFaults { AfterData = _ => Volatile.Read(ref refuse) ? Spam : null });
        _host.UseSmtp(relay.Port, maxConnections: 2);
        Assert.Equal(1, (await _host.RunAsync("send-now", "--date", "2025-09-08")).Exit);
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM relay_outages"));

        Volatile.Write(ref refuse, false);
        // The deferred ones are due again: RetryMaxDelay (1 s) plus RetryPolicy's jitter of up to 20%.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var resumed = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.True(resumed.Exit == 0, resumed.ToString());
        Assert.Contains("Resumed by this send-now", resumed.Output);
        Assert.Contains("554 5.7.1", resumed.Output);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM relay_outages"));
        Assert.Equal(Readers, relay.Messages.Select(m => m.To.Mailboxes.Single().Address).Distinct().Count());
    }

    private Task<long> PendingAsync() => _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'");

    private void UseRelay(int index, int port)
    {
        _host.Set($"Newsletter:Smtp:Relays:{index}:Host", "127.0.0.1");
        _host.Set($"Newsletter:Smtp:Relays:{index}:Port", port.ToString(CultureInfo.InvariantCulture));
        _host.Set($"Newsletter:Smtp:Relays:{index}:Security", "None");
        _host.Set($"Newsletter:Smtp:Relays:{index}:MaxConnections", "2");
    }
}
