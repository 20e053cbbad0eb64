using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

/// <summary><c>subscribers pause ADDRESS</c> and <c>subscribers resume ADDRESS</c>, as the preferences page pauses and resumes.</summary>
public sealed class PauseResumeCommandTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private async Task<string[]> ListAsync() =>
        (await _host.RunAsync("subscribers", "list")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task PauseAndResumeSayWhatTheyDidAndListShowsThePause()
    {
        var pause = await _host.RunAsync("subscribers", "pause", "Grace@Example.org");

        Assert.True(pause.Exit == 0, pause.ToString());
        Assert.Equal("Paused grace@example.org: no digests until 'subscribers resume grace@example.org'.", pause.Output.Trim());
        Assert.Equal(["ada@example.org\tactive", "grace@example.org\tpaused"], await ListAsync());

        var resume = await _host.RunAsync("subscribers", "resume", "grace@example.org");

        Assert.True(resume.Exit == 0, resume.ToString());
        Assert.Equal("Resumed grace@example.org: digests again from their next send time.", resume.Output.Trim());
        Assert.Equal(["ada@example.org\tactive", "grace@example.org\tactive"], await ListAsync());
    }

    [Fact]
    public async Task PausingTwiceOrResumingAnActiveReaderChangesNothing()
    {
        await _host.RunAsync("subscribers", "pause", "grace@example.org");

        var again = await _host.RunAsync("subscribers", "pause", "grace@example.org");
        var notPaused = await _host.RunAsync("subscribers", "resume", "ada@example.org");

        Assert.True(again.Exit == 0, again.ToString());
        Assert.Contains("grace@example.org is already paused; nothing changed.", again.Output);
        Assert.True(notPaused.Exit == 0, notPaused.ToString());
        Assert.Contains("ada@example.org is already active (not paused); nothing changed.", notPaused.Output);
        Assert.Equal(["ada@example.org\tactive", "grace@example.org\tpaused"], await ListAsync());
    }

    [Fact]
    public async Task PauseKeepsTheReadersPreferences()
    {
        await _host.RunAsync("subscribers", "set", "grace@example.org", "--keywords", "diffusion", "--time-zone", "Asia/Tokyo");

        await _host.RunAsync("subscribers", "pause", "grace@example.org");
        await _host.RunAsync("subscribers", "resume", "grace@example.org");

        Assert.Equal("diffusion|Asia/Tokyo", await _host.QueryScalarAsync<string>("SELECT keywords || '|' || time_zone FROM subscribers WHERE email = 'grace@example.org'"));
    }

    [Theory]
    [InlineData("pause", "nobody@example.org", "nobody@example.org is not a subscriber.")]
    [InlineData("resume", "nobody@example.org", "nobody@example.org is not a subscriber.")]
    [InlineData("pause", "not-an-address", "Cannot pause 'not-an-address': ")]
    [InlineData("resume", "Ada <ada@example.org>", "Cannot resume 'Ada <ada@example.org>': ")]
    public async Task AnUnknownOrInvalidAddressIsRefusedWithAClearMessage(string verb, string address, string message)
    {
        var result = await _host.RunAsync("subscribers", verb, address);

        Assert.Equal(1, result.Exit);
        Assert.StartsWith(message, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task OnlyAnActiveReaderCanBePaused()
    {
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed', status_reason = 'unsubscribed by the reader' WHERE email = 'ada@example.org'");

        var result = await _host.RunAsync("subscribers", "pause", "ada@example.org");

        Assert.Equal(1, result.Exit);
        Assert.Contains("Cannot pause ada@example.org: it is unsubscribed (unsubscribed by the reader); only an active reader can be paused or resumed.", result.Error);
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT paused FROM subscribers WHERE email = 'ada@example.org'"));
    }
}
