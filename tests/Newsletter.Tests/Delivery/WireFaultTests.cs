using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>Wire-level faults from Postfix's smtp-sink: hang-ups, 421, refusals, silence.</summary>
public sealed class WireFaultTests : IAsyncLifetime
{
    private readonly TestHost _host = new(new() { ["Newsletter:Smtp:Timeout"] = "00:00:01" });

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, 6).Select(i => $"reader{i}@example.org")]);
        await _host.RunAsync("subscribers", "import", csv, "--confirmed");
        await _host.RunAsync("collect"); // after the readers joined: a reader gets what is collected after that
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("-q", ".")]     // hang up after the message without replying
    [InlineData("-Q", "RCPT")]  // 421 and hang up
    [InlineData("-r", "RCPT")]  // 4xx to every recipient
    [InlineData("-w", "3")]     // silence after DATA, longer than Smtp:Timeout
    public async Task TransientWireFaultsDeferEveryDeliveryAndTheRunCompletes(string option, string value)
    {
        using var sink = new PostfixSink(option, value);
        _host.UseSmtp(sink.Port);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, result.Exit);
        Assert.Contains("Delivered: 0 sent, 6 deferred", result.Output);
        Assert.Equal(6L, await _host.QueryScalarAsync<long>($"SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 1 AND next_attempt_at > {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}"));
    }

    [Fact]
    public async Task A5xxToMailFromStopsTheRun()
    {
        using var sink = new PostfixSink("-f", "MAIL");
        _host.UseSmtp(sink.Port);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(1, result.Exit);
        Assert.Contains("refused the sender", result.Error);
        Assert.Equal(6L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 0"));
    }

    [Fact]
    public async Task AFailedTlsHandshakeStopsTheRun()
    {
        using var sink = new PostfixSink(); // speaks plain SMTP only
        _host.UseSmtp(sink.Port);
        _host.Set("Newsletter:Smtp:Security", "SslOnConnect");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(1, result.Exit);
        Assert.Contains("TLS handshake", result.Error);
        Assert.Equal(6L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 0"));
    }

    [Fact]
    public async Task AHealthySinkTakesEverything()
    {
        using var sink = new PostfixSink();
        _host.UseSmtp(sink.Port);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Contains("Delivered: 6 sent", result.Output);
    }
}
