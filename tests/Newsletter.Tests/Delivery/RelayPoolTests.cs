using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Newsletter.Delivery;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>Several relays (<c>Smtp:Relays</c>) against real SMTP servers: spread by weight, failing ones left out.</summary>
public sealed class RelayPoolTests : IAsyncLifetime
{
    private const int Readers = 20;
    private readonly TestHost _host = new(new() { ["Newsletter:Smtp:Timeout"] = "00:00:05" });

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, Readers).Select(i => $"reader{i}@example.org")]);
        await _host.RunAsync("subscribers", "import", csv, "--confirmed");
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private void UseRelay(int index, int port, string? user = null, string? password = null, double weight = 1)
    {
        _host.Set($"Newsletter:Smtp:Relays:{index}:Host", "127.0.0.1");
        _host.Set($"Newsletter:Smtp:Relays:{index}:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _host.Set($"Newsletter:Smtp:Relays:{index}:Security", "None");
        _host.Set($"Newsletter:Smtp:Relays:{index}:MaxConnections", "2");
        _host.Set($"Newsletter:Smtp:Relays:{index}:Weight", weight.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (user is not null)
        {
            _host.Set($"Newsletter:Smtp:Relays:{index}:Username", user);
            _host.Set($"Newsletter:Smtp:Relays:{index}:Password", password);
        }
    }

    [Fact]
    public async Task ARelayRefusingAuthAndOneDroppingAfterDataLeaveEveryDigestToTheOther()
    {
        await using var refusing = new SmtpSink(new SinkFaults { Credentials = ("digest", "right") });
        await using var dropping = new SmtpSink(new SinkFaults { DropAfterData = _ => true });
        await using var good = new SmtpSink();
        UseRelay(0, refusing.Port, "digest", "wrong");
        UseRelay(1, dropping.Port);
        UseRelay(2, good.Port);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains($"Delivered: {Readers} sent", result.Output);
        // Every reader exactly once through the good relay; the dropping one never acknowledged anything.
        var received = good.Messages.Select(m => m.To.Mailboxes.Single().Address).ToList();
        Assert.Equal(Readers, received.Count);
        Assert.Equal(Readers, received.Distinct().Count());
        Assert.Empty(refusing.Messages);
        Assert.Equal(Readers, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));

        // Both failing relays are out, with the reason; /health degrades and says which.
        var health = await _host.Service<HealthCheckService>().CheckHealthAsync();
        var relays = health.Entries["relays"];
        Assert.Equal(HealthStatus.Degraded, relays.Status);
        Assert.Contains($"127.0.0.1:{refusing.Port} cooling down", relays.Description);
        Assert.Contains("authentication", relays.Description);
        Assert.Contains($"127.0.0.1:{dropping.Port} cooling down", relays.Description);
        Assert.Contains($"127.0.0.1:{good.Port} usable", relays.Description);
    }

    [Fact]
    public async Task TheRunStopsOnlyWhenNoRelayIsUsable()
    {
        await using var refusing = new SmtpSink(new SinkFaults { Credentials = ("digest", "right") });
        UseRelay(0, refusing.Port, "digest", "wrong");
        UseRelay(1, SmtpSink.FreePort()); // nobody listens

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(1, result.Exit);
        Assert.Contains("no SMTP relay is usable", result.Error);
        Assert.Equal(Readers, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 0"));
        var health = await _host.Service<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, health.Entries["relays"].Status);
    }

    [Fact]
    public async Task HostAndRelaysTogetherAreRefused()
    {
        _host.UseSmtp(SmtpSink.FreePort());
        UseRelay(0, SmtpSink.FreePort(), weight: 0);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Newsletter:Smtp:Relays and Newsletter:Smtp:Host are both set", result.Error);
        Assert.Contains("Newsletter:Smtp:Relays:0:Weight must be a positive number; got 0.", result.Error);
    }

    [Fact]
    public async Task MessagesAreSpreadByWeightWithinTenPercent()
    {
        await using var light = new SmtpSink();
        await using var heavy = new SmtpSink();
        var options = new SmtpOptions
        {
            Relays =
            [
                new RelayOptions { Host = "127.0.0.1", Port = light.Port, Security = SmtpSecurity.None, MaxConnections = 2, Weight = 1 },
                new RelayOptions { Host = "127.0.0.1", Port = heavy.Port, Security = SmtpSecurity.None, MaxConnections = 2, Weight = 3 },
            ],
        };
        var pool = new RelayPool(options, new RelayStates(), TimeProvider.System, NullLoggerFactory.Instance);
        const int total = 10_000;
        var next = -1;

        await Task.WhenAll(Enumerable.Range(0, pool.MaxSenders).Select(async _ =>
        {
            await using var sender = await pool.ConnectAsync(CancellationToken.None);
            while (Interlocked.Increment(ref next) is var i && i < total)
                await sender.SendAsync(new MimeMessage(
                    [new MailboxAddress("", "digest@example.org")], [new MailboxAddress("", $"r{i}@example.org")], "w", new TextPart("plain") { Text = "x" }), CancellationToken.None);
        }));

        Assert.Equal(total, light.Messages.Count + heavy.Messages.Count);
        Assert.InRange(light.Messages.Count, total / 4 * 0.9, total / 4 * 1.1);
        Assert.InRange(heavy.Messages.Count, total * 3 / 4 * 0.9, total * 3 / 4 * 1.1);
    }
}
