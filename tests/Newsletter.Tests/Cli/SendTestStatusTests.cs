using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary>
/// <c>send-test --to</c> a reader who gets no mail from us (unsubscribed, bounced, not confirmed,
/// paused) sends nothing and says why in one line; any other address gets the test mail.
/// </summary>
public sealed class SendTestStatusTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        _host.UseSmtp(_smtp.Port);
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Theory]
    [InlineData("unsubscribed", "unsubscribed by the reader", "Nothing sent: ada@example.org is unsubscribed (unsubscribed by the reader) and gets no mail from us; send the test to another address")]
    [InlineData("bounced", "550 5.1.1 no such user", "Nothing sent: ada@example.org is bounced (550 5.1.1 no such user): its server refused our mail; send the test to another address")]
    [InlineData("pending", null, "Nothing sent: ada@example.org is pending: it has not confirmed its subscription")]
    public async Task AReaderWhoGetsNoMailGetsNoTestMailEither(string status, string? reason, string line)
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.ExecuteAsync($"UPDATE subscribers SET status = '{status}', status_reason = {(reason is null ? "NULL" : $"'{reason}'")}");

        var result = await _host.RunAsync("send-test", "--to", "ada@example.org");

        Assert.Equal(1, result.Exit);
        Assert.StartsWith(line, result.Error);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(_smtp.Messages);
    }

    [Fact]
    public async Task APausedReaderIsToldToResumeFirst()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.RunAsync("subscribers", "pause", "ada@example.org");

        var result = await _host.RunAsync("send-test", "--to", "ada@example.org");

        Assert.Equal(1, result.Exit);
        Assert.Contains("Nothing sent: ada@example.org is paused; 'subscribers resume ada@example.org' first", result.Error);
        Assert.Empty(_smtp.Messages);
    }

    [Fact]
    public async Task AnAddressThatIsNoReaderGetsTheTestMail()
    {
        var result = await _host.RunAsync("send-test", "--to", "operator@example.org");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Single(_smtp.To("operator@example.org"));
    }
}
