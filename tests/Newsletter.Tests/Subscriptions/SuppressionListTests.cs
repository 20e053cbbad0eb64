using System.Net;
using System.Net.Http.Json;
using Newsletter.Bounces;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;
using SmtpServer.Protocol;

namespace Newsletter.Tests.Subscriptions;

/// <summary>
/// The suppression list: an address that bounced hard, complained or was erased is not re-added by
/// <c>subscribers add</c>, <c>import</c> or the subscribe form without the operator's <c>--force</c>, whatever
/// its spelling (case, quotes: the folded key the service knows readers by), and the reason is shown.
/// </summary>
public sealed class SuppressionListTests : IAsyncLifetime
{
    private readonly SmtpSink _smtp = new(new SinkFaults
    {
        Recipient = address => address == "gone@example.org" ? new SmtpResponse((SmtpReplyCode)550, $"5.1.1 <{address}>: Recipient address rejected: User unknown") : null,
    });
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync()
    {
        _host.UseSmtp(_smtp.Port);
        _host.Set("Logging:LogLevel:Newsletter", "Information");
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    private async Task<CliResult> RunOkAsync(params string[] args)
    {
        var result = await _host.RunAsync(args);
        Assert.True(result.Exit == 0, $"{string.Join(' ', args)}: {result}");
        return result;
    }

    private Task<long> IdOfAsync(string email) => _host.QueryScalarAsync<long>($"SELECT id FROM subscribers WHERE email = '{email}'");

    private Task<long> SuppressedAsync() => _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM suppressions");

    [Fact]
    public async Task AnAddressRefusedAtTheRelayIsNotAddedAgainWithoutForce()
    {
        await RunOkAsync("subscribers", "add", "gone@example.org", "--confirmed");
        await RunOkAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await RunOkAsync("collect");
        await RunOkAsync("send-now", "--date", "2025-09-08");
        Assert.Equal("bounced", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'gone@example.org'"));

        // Another spelling of the same mailbox: the domain's case and the local part's.
        var refused = await _host.RunAsync("subscribers", "add", "GONE@Example.ORG", "--confirmed");

        Assert.Equal(1, refused.Exit);
        var line = Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(line, @"^Not added: GONE@example\.org is on the suppression list \(hard bounce on \d{4}-\d\d-\d\d: .*5\.1\.1.*User unknown.*\); 'subscribers add GONE@example\.org --force' re-adds it\.$"), line);
        Assert.Equal("bounced", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'gone@example.org'"));
        var shown = await RunOkAsync("subscribers", "show", "gone@example.org");
        Assert.Contains("  suppressed   hard bounce on ", shown.Output);
        // The console's reader page says it too.
        _host.Set("Newsletter:Admin:Password", "console-password");
        var baseUrl = await _host.StartServiceAsync();
        using (var console = new HttpClient { BaseAddress = new Uri(baseUrl) })
        {
            console.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("alice:console-password"u8.ToArray()));
            var page = await console.GetStringAsync($"/admin/readers/{await IdOfAsync("gone@example.org")}");
            Assert.Contains("<dt>Suppressed</dt>", page);
            Assert.Contains("hard bounce on ", page);
        }

        var forced = await RunOkAsync("subscribers", "add", "gone@example.org", "--confirmed", "--force");

        Assert.Contains("Activated gone@example.org (active); off the suppression list (was: hard bounce on ", forced.Output);
        Assert.Equal("active", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'gone@example.org'"));
        Assert.Equal(0L, await SuppressedAsync());
        Assert.Contains(_host.Logs, l => l.Contains("Suppression list: gone@example.org (hard bounce on ", StringComparison.Ordinal) && l.Contains("lifted by the operator (subscribers add --force)", StringComparison.Ordinal));
        Assert.DoesNotContain("suppressed", (await RunOkAsync("subscribers", "show", "gone@example.org")).Output);
    }

    [Fact]
    public async Task AComplaintIsSkippedByImportCountedAndReAddedWithForce()
    {
        await RunOkAsync("subscribers", "add", "ada@example.org", "--confirmed");
        await RunOkAsync("subscribers", "add", "grace@example.org", "--confirmed");
        var recorder = _host.Service<BounceRecorder>();
        await recorder.RecordAsync(new BounceReport(BounceKind.Complaint, null, await IdOfAsync("ada@example.org"), null, null, "feedback report (abuse) from feedback.example.net", null),
            "complaint-1", CancellationToken.None);
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllTextAsync(csv, "email\n\"\"\"ADA\"\"@example.org\"\nnew@example.org\ngrace@example.org\n");

        var import = await RunOkAsync("subscribers", "import", csv, "--confirmed");

        Assert.Contains("Imported list.csv: 1 added, 0 activated, 1 already present, 0 invalid rows skipped, 1 suppressed skipped (hard bounce, complaint or erased; --force re-adds them)", import.Output);
        Assert.Contains("list.csv:2: skipped '\"ADA\"@example.org': on the suppression list (complaint on ", import.Error);
        Assert.True(import.Error.Contains(": feedback report (abuse) from feedback.example.net); --force re-adds it", StringComparison.Ordinal), import.Error);
        Assert.Equal("unsubscribed", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal("active", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'new@example.org'"));

        var forced = await RunOkAsync("subscribers", "import", csv, "--confirmed", "--force");

        Assert.Contains("0 added, 1 activated, 2 already present, 0 invalid rows skipped, 1 taken off the suppression list (--force)", forced.Output);
        Assert.Equal("active", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'ada@example.org'"));
        Assert.Equal(0L, await SuppressedAsync());
    }

    [Fact]
    public async Task AComplainerBackThroughTheirOwnPreferencesLinkIsOffTheList()
    {
        await RunOkAsync("subscribers", "add", "ada@example.org", "--confirmed");
        var id = await IdOfAsync("ada@example.org");
        await _host.Service<BounceRecorder>().RecordAsync(new BounceReport(BounceKind.Complaint, null, id, null, null, "feedback report (abuse)", null), "complaint-2", CancellationToken.None);
        Assert.Equal(1L, await SuppressedAsync());

        Assert.True(await _host.Service<SubscriberStore>().ResubscribeAsync(id, CancellationToken.None));

        Assert.Equal(0L, await SuppressedAsync());
        Assert.Equal("active", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'ada@example.org'"));
    }

    [Fact]
    public async Task AnErasedAddressKeepsOnlyAHashAndTheWebFormSendsItNoMail()
    {
        await RunOkAsync("subscribers", "add", "erased@example.org", "--confirmed");
        await RunOkAsync("subscribers", "remove", "erased@example.org");

        // What is kept: a keyed hash, the reason and the date; never the address.
        await using (var connection = await _host.OpenAsync())
        {
            var row = await Dapper.SqlMapper.QuerySingleAsync<(string Key, string Reason, string Detail)>(connection, "SELECT address_key, reason, detail FROM suppressions");
            Assert.StartsWith("hmac:", row.Key);
            Assert.DoesNotContain("erased", row.Key);
            Assert.Equal(("erased", ""), (row.Reason, row.Detail));
        }
        var baseUrl = await _host.StartServiceAsync();
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };

        var spellings = new[] { "erased@example.org", "Erased@EXAMPLE.org", "\"erased\"@example.org" };
        foreach (var spelling in spellings)
        {
            var response = await http.PostAsJsonAsync("/subscribe", new { email = spelling });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode); // the same answer as for anyone
        }
        var control = await http.PostAsJsonAsync("/subscribe", new { email = "new@example.org" });
        Assert.Equal(HttpStatusCode.Accepted, control.StatusCode);
        await _smtp.ForMailAsync("new@example.org");
        await Task.Delay(500); // a mail queued before the control's would have arrived by now

        Assert.DoesNotContain(_smtp.Messages, m => m.To.Mailboxes.Any(b => b.Address.Contains("erased", StringComparison.OrdinalIgnoreCase)));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM subscribers WHERE email_key = 'erased@example.org'"));
        Assert.Equal(spellings.Length, _host.Logs.Count(l => l.Contains("for an address on the suppression list (erased on ", StringComparison.Ordinal)));
        Assert.DoesNotContain(_host.Logs, l => l.Contains("suppression list", StringComparison.Ordinal) && l.Contains("erased@", StringComparison.OrdinalIgnoreCase));

        var refused = await _host.RunAsync("subscribers", "add", "erased@example.org");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("is on the suppression list (erased on ", refused.Error);
        var shown = await _host.RunAsync("subscribers", "show", "erased@example.org");
        Assert.Contains("erased@example.org is not a subscriber; it is on the suppression list (erased on ", shown.Error);

        var forced = await RunOkAsync("subscribers", "add", "erased@example.org", "--force");
        Assert.Contains("Added erased@example.org (pending); off the suppression list (was: erased on ", forced.Output);
        Assert.Contains("confirmation mail sent", forced.Output);
        await _smtp.ForMailAsync("erased@example.org");
    }

    [Fact]
    public async Task ErasingABouncedReaderKeepsTheBounceButNotItsReply()
    {
        await RunOkAsync("subscribers", "add", "gone@example.org", "--confirmed");
        await _host.Service<BounceRecorder>().RecordAsync(new BounceReport(BounceKind.HardBounce, null, await IdOfAsync("gone@example.org"), "5.1.1", "gone@example.org", "550 5.1.1 <gone@example.org>: no such user", null),
            "bounce-1", CancellationToken.None);
        Assert.Equal("bounced", await _host.QueryScalarAsync<string>("SELECT status FROM subscribers WHERE email = 'gone@example.org'"));

        await RunOkAsync("subscribers", "remove", "gone@example.org");

        Assert.Equal("hard-bounce", await _host.QueryScalarAsync<string>("SELECT reason FROM suppressions"));
        Assert.Equal(0L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM suppressions WHERE detail LIKE '%gone%' OR address_key LIKE '%gone%'"));
        var refused = await _host.RunAsync("subscribers", "add", "gone@example.org", "--confirmed");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("is on the suppression list (hard bounce on ", refused.Error);
    }

    [Fact]
    public async Task APendingReaderWhoBouncesIsNotSentAnotherConfirmation()
    {
        // An address mistyped on the web: its confirmation bounces, and asking again mails it no more.
        var store = _host.Service<SubscriberStore>();
        await _host.Service<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
        EmailAddress.TryParse("typo@example.org", out var typo, out _);
        var first = await store.RequestSubscriptionAsync(typo!, Newsletter.Model.Preferences.None, TimeSpan.Zero, CancellationToken.None);
        await _host.ExecuteAsync($"UPDATE subscribers SET status = 'bounced' WHERE id = {first.Id}");
        await _host.ExecuteAsync($"INSERT INTO suppressions (address_key, reason, detail, suppressed_at) VALUES ('typo@example.org', 'hard-bounce', '550 5.1.1', 1)");

        var again = await store.RequestSubscriptionAsync(typo!, Newsletter.Model.Preferences.None, TimeSpan.Zero, CancellationToken.None);

        Assert.True(first.SendConfirmation);
        Assert.False(again.SendConfirmation);
        Assert.Equal(SuppressionReason.HardBounce, again.Suppressed?.Reason);
        Assert.Equal("bounced", await _host.QueryScalarAsync<string>($"SELECT status FROM subscribers WHERE id = {first.Id}"));
    }

    [Fact]
    public async Task ReadersSuspendedOrComplainingBeforeTheUpgradeAreOnTheList()
    {
        await RunOkAsync("subscribers", "add", "gone@example.org", "--confirmed");
        await RunOkAsync("subscribers", "add", "angry@example.org", "--confirmed");
        await RunOkAsync("subscribers", "add", "left@example.org", "--confirmed");
        // The database as the version before the list left it: no table, the readers' rows saying it all;
        // then the upgrade's step (found by what it creates: later steps may follow it).
        var step = Newsletter.Storage.Migrations.Steps.Single(s => s.Sqlite.Contains("CREATE TABLE suppressions", StringComparison.Ordinal));
        await _host.ExecuteAsync("DROP TABLE suppressions");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'bounced', status_reason = '550 5.1.1 user unknown' WHERE email = 'gone@example.org'");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = 1, status_reason = 'complained: feedback report (abuse)' WHERE email = 'angry@example.org'");
        await _host.ExecuteAsync("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = 1, status_reason = 'unsubscribed by the reader' WHERE email = 'left@example.org'");
        await _host.ExecuteAsync(_host.Provider == Newsletter.Storage.DatabaseProvider.Postgres ? step.Postgres : step.Sqlite);

        var gone = await _host.RunAsync("subscribers", "add", "gone@example.org", "--confirmed");
        var angry = await _host.RunAsync("subscribers", "add", "angry@example.org", "--confirmed");
        var left = await _host.RunAsync("subscribers", "add", "left@example.org", "--confirmed");

        Assert.Contains("on the suppression list (hard bounce on ", gone.Error);
        Assert.Contains("550 5.1.1 user unknown", gone.Error);
        Assert.Contains("on the suppression list (complaint on 1970-01-01: feedback report (abuse))", angry.Error);
        Assert.Equal(0, left.Exit); // who left by their own link is welcome back
        Assert.Equal(2L, await SuppressedAsync());
    }
}
