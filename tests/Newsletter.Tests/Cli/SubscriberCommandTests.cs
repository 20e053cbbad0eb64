using Newsletter.Tests.Support;

namespace Newsletter.Tests.Cli;

public sealed class SubscriberCommandTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task APausedReaderIsListedAsPaused()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.RunAsync("subscribers", "add", "grace@example.org", "--confirmed");
        await _host.ExecuteAsync("UPDATE subscribers SET paused = 1 WHERE email = 'grace@example.org'");

        var list = await _host.RunAsync("subscribers", "list");

        Assert.Equal(["ada@example.org\tactive", "grace@example.org\tpaused"], list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task ListShowsEachAddressWithItsStatusWord()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await _host.RunAsync("subscribers", "add", "grace@Example.ORG");

        var list = await _host.RunAsync("subscribers", "list");

        Assert.Equal(0, list.Exit);
        Assert.Equal(["ada@example.org\tactive", "grace@example.org\tpending"], list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task AddingTheSameAddressTwiceKeepsOneSubscriber()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org");

        var again = await _host.RunAsync("subscribers", "add", "ada@EXAMPLE.org", "--confirmed");

        Assert.Contains("Activated ada@example.org (active)", again.Output);
        Assert.Single((await _host.RunAsync("subscribers", "list")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("not-an-address")]
    [InlineData("Ada <ada@example.org>")]
    [InlineData("a@example.org, b@example.org")]
    public async Task AnInvalidAddressIsRefusedWithAClearMessage(string address)
    {
        var result = await _host.RunAsync("subscribers", "add", address);

        Assert.Equal(1, result.Exit);
        Assert.Contains($"Cannot add '{address}'", result.Error);
    }

    [Fact]
    public async Task ImportSkipsAndReportsInvalidRowsAndConfirmsTheRest()
    {
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllTextAsync(csv, "name,Email\nAda,ada@example.org\nNobody,not-an-address\n\"Hopper, Grace\",grace@example.org\n");

        var result = await _host.RunAsync("subscribers", "import", csv, "--confirmed");

        Assert.Equal(0, result.Exit);
        Assert.Contains("2 added, 0 activated, 0 already present, 1 invalid rows skipped", result.Output);
        Assert.Contains("list.csv:3: skipped 'not-an-address'", result.Error);
        var list = await _host.RunAsync("subscribers", "list");
        Assert.Contains("ada@example.org\tactive", list.Output);
        Assert.Contains("grace@example.org\tactive", list.Output);
    }

    [Fact]
    public async Task ImportWithoutAnEmailColumnFails()
    {
        var csv = Path.Combine(_host.Directory, "bad.csv");
        await File.WriteAllTextAsync(csv, "name,address\nAda,ada@example.org\n");

        var result = await _host.RunAsync("subscribers", "import", csv);

        Assert.Equal(1, result.Exit);
        Assert.Contains("no 'email' column", result.Error);
    }

    [Fact]
    public async Task ExportWritesCsvThatImportReadsBack()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var export = await _host.RunAsync("subscribers", "export");
        var csv = Path.Combine(_host.Directory, "export.csv");
        await File.WriteAllTextAsync(csv, export.Output);

        Assert.StartsWith("email,status,topics,created_at,confirmed_at,status_reason", export.Output);
        var reimport = await _host.RunAsync("subscribers", "import", csv);
        Assert.Contains("0 added, 0 activated, 1 already present, 0 invalid", reimport.Output);
    }

    [Fact]
    public async Task RemoveDeletesTheSubscriber()
    {
        await _host.RunAsync("subscribers", "add", "ada@example.org");

        Assert.Equal(0, (await _host.RunAsync("subscribers", "remove", "ada@example.org")).Exit);
        Assert.Equal(1, (await _host.RunAsync("subscribers", "remove", "ada@example.org")).Exit);
        Assert.Equal("", (await _host.RunAsync("subscribers", "list")).Output);
    }

    [Fact]
    public async Task ExportNeutralisesSpreadsheetFormulas()
    {
        await using var host = new TestHost();
        await host.RunAsync("subscribers", "add", "=1+1@example.org", "--confirmed");
        await host.ExecuteAsync("UPDATE subscribers SET status_reason = '=cmd|'' /C calc''!A0'");

        var export = await host.RunAsync("subscribers", "export");

        Assert.Contains("'=1+1@example.org", export.Output);
        Assert.Contains("'=cmd|", export.Output);
        Assert.DoesNotContain(",=", export.Output);
        Assert.DoesNotContain("\n=", export.Output);
    }

    [Theory]
    [InlineData("https://papers.example.org/?ref=mail")]
    [InlineData("https://papers.example.org/#top")]
    [InlineData("https://user:pw@papers.example.org/")]
    public async Task APublicBaseUrlWithAQueryFragmentOrCredentialsIsRefused(string url)
    {
        await using var host = new TestHost(new() { ["Newsletter:PublicBaseUrl"] = url });

        var result = await host.RunAsync("subscribers", "list");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Newsletter:PublicBaseUrl", result.Error);
    }
}

public sealed class SubscriberConfirmationCommandTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private string[] MailsTo(string address) => Directory.Exists(_host.Outbox)
        ? Directory.GetFiles(_host.Outbox, "*.eml").Where(f => File.ReadAllText(f).Contains($"To: {address}", StringComparison.OrdinalIgnoreCase)).ToArray()
        : [];

    [Fact]
    public async Task AddWithoutConfirmedSendsTheConfirmationMail()
    {
        var result = await _host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("Added grace@example.org (pending); confirmation mail sent", result.Output);
        var mail = Assert.Single(MailsTo("grace@example.org"));
        Assert.Contains("https://papers.example.org/confirm?token=", File.ReadAllText(mail));
    }

    [Fact]
    public async Task AddWithConfirmedSendsNoMail()
    {
        var result = await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Empty(MailsTo("ada@example.org"));
    }

    [Fact]
    public async Task ImportWithoutConfirmedMailsEachNewAddressOnceEvenWhenImportedTwice()
    {
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllTextAsync(csv, "email\nada@example.org\ngrace@example.org\n");

        var first = await _host.RunAsync("subscribers", "import", csv);
        var second = await _host.RunAsync("subscribers", "import", csv);

        Assert.True(first.Exit == 0, first.ToString());
        Assert.Contains("2 added, 0 activated, 0 already present, 0 invalid rows skipped; 2 confirmation mails sent", first.Output);
        Assert.Contains("0 added, 0 activated, 2 already present, 0 invalid rows skipped; 0 confirmation mails sent", second.Output);
        Assert.Single(MailsTo("ada@example.org"));
        Assert.Single(MailsTo("grace@example.org"));
    }

    [Fact]
    public async Task AddTwiceHonoursTheResendIntervalAndSaysWhen()
    {
        var first = await NewsletterProcess.RunAsync(_host, ["subscribers", "add", "grace@example.org"]);
        var second = await NewsletterProcess.RunAsync(_host, ["subscribers", "add", "grace@example.org"]);

        Assert.True(first.Exit == 0, first.ToString());
        Assert.True(second.Exit == 0, second.ToString());
        Assert.Contains("confirmation mail sent", first.Output);
        Assert.Matches(@"grace@example\.org is already present \(pending\); confirmation mail already sent at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; not sent again before \d{4}-", second.Output);
        Assert.Single(MailsTo("grace@example.org"));
    }

    [Fact]
    public async Task AFailedConfirmationMailCanBeRetriedAtOnce()
    {
        _host.UseSmtp(SmtpSink.FreePort()); // nobody listens there
        await _host.RunAsync("subscribers", "add", "grace@example.org");

        var again = await _host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.Contains("The confirmation mail to grace@example.org was not sent", again.Error);
        Assert.DoesNotContain("already sent", again.Output);
    }

    [Fact]
    public async Task AFailedConfirmationMailIsSaidAndTheAddressStaysPending()
    {
        _host.UseSmtp(SmtpSink.FreePort()); // nobody listens there

        var result = await _host.RunAsync("subscribers", "add", "grace@example.org");

        Assert.Equal(1, result.Exit);
        Assert.Contains("The confirmation mail to grace@example.org was not sent", result.Error);
        Assert.Contains("grace@example.org\tpending", (await _host.RunAsync("subscribers", "list")).Output);
    }
}
