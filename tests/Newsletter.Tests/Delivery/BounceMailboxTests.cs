using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MimeKit;
using Newsletter.Bounces;
using Newsletter.Delivery;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// Bounces that arrive later, read from a real IMAP server (the tests' own Dovecot): Postfix,
/// Exchange and Gmail delivery-status notifications, an ARF complaint, a mail unsubscribe and an
/// auto-reply, each naming its digest through the VERP return path or the mailto token it carried.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BounceMailboxTests : IAsyncLifetime
{
    private const string Domain = "bounces.papers.example.org";
    private readonly TestHost _host = new();
    private DovecotImap _imap = null!;
    private SmtpSink _sink = null!;

    public async ValueTask InitializeAsync()
    {
        _imap = new DovecotImap(pop3: true);
        _sink = new SmtpSink();
        _host.UseSmtp(_sink.Port);
        _host.Set("Newsletter:Bounces:ReturnPathDomain", Domain);
        _host.Set("Newsletter:Bounces:MaxHardBounces", "2");
        _host.Set("Newsletter:Bounces:Mailbox:Host", "127.0.0.1");
        _host.Set("Newsletter:Bounces:Mailbox:Port", _imap.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _host.Set("Newsletter:Bounces:Mailbox:Security", "None");
        _host.Set("Newsletter:Bounces:Mailbox:Username", DovecotImap.User);
        _host.Set("Newsletter:Bounces:Mailbox:Password", DovecotImap.Password);
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, 7).Select(i => $"r{i}@example.org")]);
        await _host.RunAsync("subscribers", "import", csv, "--confirmed");
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await (_sink?.DisposeAsync() ?? ValueTask.CompletedTask);
        _imap?.Dispose();
    }

    /// <summary>Each reader's digest as the relay got it, with the envelope sender it came with.</summary>
    private async Task<Dictionary<string, (string ReturnPath, MimeMessage Message)>> SendAsync()
    {
        var sent = await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.True(sent.Exit == 0, sent.ToString());
        return _sink.Envelopes.ToDictionary(e => e.Message.To.Mailboxes.Single().Address, e => e);
    }

    private static string Fill(string fixture, (string ReturnPath, MimeMessage Message) digest)
    {
        var listUnsubscribe = digest.Message.Headers["List-Unsubscribe"] ?? "";
        var mailto = System.Text.RegularExpressions.Regex.Match(listUnsubscribe, "<mailto:([^>?]+)").Groups[1].Value;
        return File.ReadAllText(Fixtures.PathOf(Path.Combine("bounces", fixture)))
            .Replace("{{VERP}}", digest.ReturnPath)
            .Replace("{{RCPT}}", digest.Message.To.Mailboxes.Single().Address)
            .Replace("{{MSGID}}", digest.Message.MessageId)
            .Replace("{{SUBJECT}}", digest.Message.Subject)
            .Replace("{{LIST_UNSUBSCRIBE}}", listUnsubscribe)
            .Replace("{{UNSUBSCRIBE}}", mailto);
    }

    private async Task<ImapClient> ConnectAsync()
    {
        var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", _imap.Port, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync(DovecotImap.User, DovecotImap.Password);
        return client;
    }

    private async Task<List<string>> FillMailboxAsync(Dictionary<string, (string ReturnPath, MimeMessage Message)> digests)
    {
        (string Reader, string Fixture)[] plan =
        [
            ("r1@example.org", "postfix-5.1.1.eml"),
            ("r2@example.org", "exchange-5.1.10.eml"),
            ("r3@example.org", "gmail-4.2.2-delayed.eml"),
            ("r4@example.org", "gmail-5.2.2-full.eml"),
            ("r5@example.org", "arf-complaint.eml"),
            ("r6@example.org", "mailto-unsubscribe.eml"),
            ("r7@example.org", "out-of-office.eml"),
        ];
        using var client = await ConnectAsync();
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
        var texts = new List<string>();
        foreach (var (reader, fixture) in plan)
        {
            var text = Fill(fixture, digests[reader]);
            texts.Add(text);
            await client.Inbox.AppendAsync(MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text))));
        }
        await client.DisconnectAsync(true);
        return texts;
    }

    private async Task<(string Status, string? Reason, long HardBounces)> ReaderAsync(string email)
    {
        await using var connection = await _host.OpenAsync();
        return await Dapper.SqlMapper.QuerySingleAsync<(string, string?, long)>(connection,
            "SELECT status, status_reason, hard_bounces FROM subscribers WHERE email = @email", new { email });
    }

    private async Task<string> DeliveryStatusAsync(string email) =>
        await _host.QueryScalarAsync<string>($"SELECT d.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = '{email}'");

    [Fact]
    public async Task EachDigestCarriesAVerpReturnPathAndAMailtoUnsubscribe()
    {
        var digests = await SendAsync();

        Assert.Equal(7, digests.Count);
        var paths = _host.Service<ReturnPaths>();
        foreach (var (returnPath, message) in digests.Values)
        {
            Assert.Matches($"^bounce\\+[0-9a-f]{{32}}@{Domain.Replace(".", "\\.")}$", returnPath);
            Assert.True(paths.TryRead(returnPath, out var purpose, out _) && purpose == AddressPurpose.Bounce);
            Assert.Matches($"^<https://papers\\.example\\.org/unsubscribe\\?token=[^>]+>, <mailto:unsubscribe\\+[0-9a-f]{{32}}@{Domain.Replace(".", "\\.")}\\?subject=unsubscribe>$",
                message.Headers["List-Unsubscribe"]);
        }
        Assert.Equal(7, digests.Values.Select(d => d.ReturnPath).Distinct().Count());
        // A token altered by one character is not ours.
        var first = digests.Values.First().ReturnPath;
        var altered = first[..10] + (first[10] == 'a' ? 'b' : 'a') + first[11..];
        Assert.False(paths.TryRead(altered, out _, out _));
    }

    [Fact]
    public async Task TheMailboxBouncesUnsubscribesAndKeepsCountOnceAfterACrashAndAgain()
    {
        var digests = await SendAsync();
        var texts = await FillMailboxAsync(digests);
        // A crash mid-batch: the first three were recorded, none moved away yet.
        await RecordAsync(texts.Take(3));

        var summary = await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None);

        Assert.Equal(new BounceSummary(Read: 7, Hard: 1, Soft: 0, Complaints: 1, Unsubscribes: 1, Other: 1, AlreadyCounted: 3), summary);
        // 5.1.1 (Postfix) and 5.1.10 behind Exchange's 5.0.0: bad addresses, suspended at once.
        Assert.Equal("bounced", (await ReaderAsync("r1@example.org")).Status);
        Assert.Contains("5.1.1", (await ReaderAsync("r1@example.org")).Reason);
        Assert.Equal("bounced", await DeliveryStatusAsync("r1@example.org"));
        Assert.Equal("bounced", (await ReaderAsync("r2@example.org")).Status);
        Assert.Contains("5.1.10", (await ReaderAsync("r2@example.org")).Reason);
        // 4.2.2 delayed: recorded only.
        Assert.Equal(("active", (string?)null, 0L), await ReaderAsync("r3@example.org"));
        Assert.Equal("sent", await DeliveryStatusAsync("r3@example.org"));
        // 5.2.2 mailbox full: a hard bounce that counts, one of the two Bounces:MaxHardBounces.
        Assert.Equal(("active", (string?)null, 1L), await ReaderAsync("r4@example.org"));
        Assert.Equal("bounced", await DeliveryStatusAsync("r4@example.org"));
        // The complaint and the mail unsubscribe: unsubscribed at once, with the reason.
        Assert.Equal("unsubscribed", (await ReaderAsync("r5@example.org")).Status);
        Assert.StartsWith("complained: feedback report (abuse)", (await ReaderAsync("r5@example.org")).Reason);
        Assert.Equal(("unsubscribed", "unsubscribed by mail", 0L), await ReaderAsync("r6@example.org"));
        // An auto-reply to the return path changes nothing.
        Assert.Equal(("active", (string?)null, 0L), await ReaderAsync("r7@example.org"));
        Assert.Equal("sent", await DeliveryStatusAsync("r7@example.org"));
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM bounce_events WHERE kind = 'complaint'"));
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM bounce_events WHERE kind = 'soft'"));

        // Everything read was moved out of the inbox: the next pass finds nothing.
        using (var client = await ConnectAsync())
        {
            await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
            Assert.Equal(0, client.Inbox.Count);
            var processed = await client.GetFolder(client.PersonalNamespaces[0]).GetSubfolderAsync("Processed");
            await processed.OpenAsync(FolderAccess.ReadWrite);
            Assert.Equal(7, processed.Count);
            Assert.Equal(new BounceSummary(0, 0, 0, 0, 0, 0, 0), await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None));
            // The same reports again (a failed move, a second copy): read, and nothing counted twice.
            await processed.CopyToAsync(await processed.SearchAsync(SearchQuery.All), client.Inbox);
            await client.DisconnectAsync(true);
        }
        var again = await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None);
        Assert.Equal(new BounceSummary(7, 0, 0, 0, 0, 0, 7), again);
        Assert.Equal(("active", (string?)null, 1L), await ReaderAsync("r4@example.org"));
        Assert.Equal(7L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM bounce_events"));
    }

    /// <summary>Reports recorded as a pass would record them, before it moved or deleted them (a crash mid-batch).</summary>
    private async Task RecordAsync(IEnumerable<string> texts)
    {
        var parser = _host.Service<BounceParser>();
        var recorder = _host.Service<BounceRecorder>();
        foreach (var text in texts)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            var message = MimeMessage.Load(new MemoryStream(bytes));
            await recorder.RecordAsync(parser.Parse(message), BounceInbox.Key(message, bytes), CancellationToken.None);
        }
    }

    [Fact]
    public async Task OverPop3TheSameReportsCountOnceAfterACrashAndAgainAndAreDeleted()
    {
        _imap.RequirePop3();
        _host.Set("Newsletter:Bounces:Mailbox:Protocol", "Pop3");
        _host.Set("Newsletter:Bounces:Mailbox:Port", _imap.Pop3Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var digests = await SendAsync();
        // The same maildir, filled over IMAP, read over POP3.
        var texts = await FillMailboxAsync(digests);
        // A crash mid-batch: POP3 deletes only at QUIT, so the first three were recorded and are all still there.
        await RecordAsync(texts.Take(3));

        var summary = await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None);

        Assert.Equal(new BounceSummary(Read: 7, Hard: 1, Soft: 0, Complaints: 1, Unsubscribes: 1, Other: 1, AlreadyCounted: 3), summary);
        Assert.Equal("bounced", (await ReaderAsync("r1@example.org")).Status);
        Assert.Equal("bounced", (await ReaderAsync("r2@example.org")).Status);
        Assert.Equal(("active", (string?)null, 0L), await ReaderAsync("r3@example.org"));
        Assert.Equal(("active", (string?)null, 1L), await ReaderAsync("r4@example.org"));
        Assert.Equal("unsubscribed", (await ReaderAsync("r5@example.org")).Status);
        Assert.Equal(("unsubscribed", "unsubscribed by mail", 0L), await ReaderAsync("r6@example.org"));
        Assert.Equal(("active", (string?)null, 0L), await ReaderAsync("r7@example.org"));

        // Deleted after processing: the mailbox is empty and the next pass reads nothing.
        using (var pop3 = new MailKit.Net.Pop3.Pop3Client())
        {
            await pop3.ConnectAsync("127.0.0.1", _imap.Pop3Port.Value, MailKit.Security.SecureSocketOptions.None);
            await pop3.AuthenticateAsync(DovecotImap.User, DovecotImap.Password);
            Assert.Equal(0, await pop3.GetMessageCountAsync());
            await pop3.DisconnectAsync(true);
        }
        Assert.Equal(new BounceSummary(0, 0, 0, 0, 0, 0, 0), await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None));

        // The same reports delivered again: read, deleted, nothing counted twice.
        await FillMailboxAsync(digests);
        Assert.Equal(new BounceSummary(7, 0, 0, 0, 0, 0, 7), await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None));
        Assert.Equal(("active", (string?)null, 1L), await ReaderAsync("r4@example.org"));
        Assert.Equal(7L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM bounce_events"));
    }

    [Fact]
    public async Task ComplaintsOverTheRateHoldSendingUntilSendNowLiftsIt()
    {
        _host.Set("Newsletter:Bounces:MaxComplaintRate", "0.1");
        _host.Set("Newsletter:Bounces:MinDigestsForComplaintRate", "5");
        var digests = await SendAsync();
        using (var client = await ConnectAsync())
        {
            await client.Inbox.AppendAsync(MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Fill("arf-complaint.eml", digests["r5@example.org"])))));
            await client.DisconnectAsync(true);
        }

        await _host.Service<BounceInbox>().ProcessAsync(CancellationToken.None);

        // One complaint in 7 digests (14%) is over 10%: held, for every instance, and /health says why.
        var reason = await _host.Service<SendHold>().ReasonAsync(CancellationToken.None);
        Assert.NotNull(reason);
        Assert.Contains("1 complaints over the last 7 digests (14.29%) passed Bounces:MaxComplaintRate (10%)", reason);
        var health = await _host.Service<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, health.Entries["sending"].Status);
        Assert.Contains("sending is held", health.Entries["sending"].Description);
        var scheduled = await _host.Service<Dispatcher>().DispatchAsync(null, CancellationToken.None);
        Assert.Contains("sending is held", scheduled.RunFailure);

        var lifted = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.True(lifted.Exit == 0, lifted.ToString());
        Assert.Contains("Sending was held: 1 complaints over the last 7 digests", lifted.Output);
        Assert.Null(await _host.Service<SendHold>().ReasonAsync(CancellationToken.None));
    }
}
