using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>
/// A relay that answers but lacks what the configuration asks of it (AUTH for a user name,
/// STARTTLS for Security=StartTls) is described as such, not as "unreachable".
/// </summary>
public sealed class RelayWordingTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new(); // offers neither AUTH nor STARTTLS
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public async Task ARelayWithoutAuthIsSaidToOfferNoAuthentication()
    {
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Smtp:Username", "digest");
        _host.Set("Newsletter:Smtp:Password", "secret");

        var result = await _host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.Equal(1, result.Exit);
        Assert.Contains($"the relay 127.0.0.1:{_smtp.Port} was reached but offers no authentication (AUTH) while Smtp:Username is set", result.Error);
        Assert.DoesNotContain("unreachable", result.Error);
        Assert.Empty(_smtp.Messages);
    }

    [Fact]
    public async Task ARelayWithoutStartTlsIsSaidToOfferNoStartTls()
    {
        _host.UseSmtp(_smtp.Port);
        _host.Set("Newsletter:Smtp:Security", "StartTls");

        var result = await _host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.Equal(1, result.Exit);
        Assert.Contains($"the relay 127.0.0.1:{_smtp.Port} was reached but does not offer STARTTLS, which Smtp:Security=StartTls requires", result.Error);
        Assert.DoesNotContain("unreachable", result.Error);
        Assert.Empty(_smtp.Messages);
    }

    [Fact]
    public async Task NobodyListeningIsStillUnreachable()
    {
        var port = SmtpSink.FreePort();
        _host.UseSmtp(port);

        var result = await _host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.Equal(1, result.Exit);
        Assert.Contains($"the relay 127.0.0.1:{port} is unreachable", result.Error);
    }
}
