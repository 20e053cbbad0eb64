using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Sources;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Issues;

/// <summary>
/// Day one as a newcomer meets it: the README's first send, a visitor who subscribes after the
/// day's collect, a manual send-now that found nothing, and previews that show what is then sent.
/// </summary>
public sealed partial class FirstDayTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private readonly SmtpSink _smtp = new();
    private FixtureServer _feeds = null!;

    public async ValueTask InitializeAsync()
    {
        _feeds = await FixtureServer.StartAsync();
        _feeds.Serve("/rss/cs.LG", "week/arxiv_wed.xml");
    }

    public async ValueTask DisposeAsync()
    {
        await _feeds.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Fact]
    public async Task TheReadmesFirstSendDeliversTheDigestTheTestMailShowed()
    {
        await using var host = NewHost();

        // The README's steps, in its order: collect, add yourself, a test mail, then send-now.
        var collect = await host.RunAsync("collect");
        var add = await host.RunAsync("subscribers", "add", "you@example.org", "--confirmed");
        var test = await host.RunAsync("send-test", "--to", "you@example.org");
        var send = await host.RunAsync("send-now");

        Assert.Equal(0, collect.Exit);
        Assert.Equal(0, add.Exit);
        Assert.True(test.Exit == 0, test.ToString());
        Assert.True(send.Exit == 0, send.ToString());
        Assert.Contains("Delivered: 1 sent", send.Output);
        var mails = _smtp.To("you@example.org");
        Assert.Equal(2, mails.Count);
        var (testMail, digest) = (mails[0], mails[1]);
        Assert.Equal(testMail.Subject, digest.Subject);
        Assert.Contains("12 new papers", digest.Subject);
        Assert.Equal(Impersonal(testMail.TextBody), Impersonal(digest.TextBody));
        Assert.Equal(Impersonal(testMail.HtmlBody), Impersonal(digest.HtmlBody));
        Assert.Contains("(12 entries)", test.Output);
    }

    [Fact]
    public async Task AVisitorWhoSubscribesAfterTheDaysCollectGetsThatDaysPapersAndAMorningSendNowTakesNothingAway()
    {
        // Sunday noon to Monday night in quarter hours, the scheduler's reader poll at every step.
        var start = new DateTimeOffset(2025, 9, 7, 12, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        await using var host = NewHost();
        host.Set("Logging:LogLevel:Newsletter.Orchestration.DailyDigest", "Information");
        var app = host.Build(["run"], time);
        await app.Services.GetRequiredService<StartupTasks>().RunAsync(CancellationToken.None);
        var store = app.Services.GetRequiredService<SubscriberStore>();
        var entries = app.Services.GetRequiredService<EntryStore>();
        var daily = app.Services.GetRequiredService<DailyDigest>();
        var evening = new Preferences { TimeZone = "UTC", SendHour = 18 };
        var paper = 0;
        async Task CollectAsync(int count)
        {
            var batch = Enumerable.Range(0, count).Select(_ => ++paper)
                .Select(n => new Entry($"id:test:{n}", $"Paper {n}", "An abstract.", ["A. Author"], $"https://example.org/{n}", null, 0, "test")).ToList();
            await entries.UpsertAsync(batch, CancellationToken.None);
        }

        await store.AddAsync(Address("old@example.org"), true, new PreferenceInput { TimeZone = "UTC", SendHour = "18" }, CancellationToken.None);
        (ComposeResult Compose, DispatchSummary Delivery)? morning = null;
        for (var now = start; now < start.AddHours(36); now = now.AddMinutes(15))
        {
            time.SetUtcNow(now);
            if (now == start.AddHours(1))
                await CollectAsync(3); // Sunday's papers: old@ gets them at 18:00
            if (now == start.AddHours(17))
                morning = await daily.RunAsync(new DateOnly(2025, 9, 8), null, CancellationToken.None); // Monday 05:00, by hand: nothing new yet
            if (now == start.AddHours(18))
                await CollectAsync(20); // Monday 06:00
            if (now == start.AddHours(27))
            {
                // Monday 15:00, after the collect: a visitor subscribes on the web and confirms.
                var (id, _) = await store.RequestSubscriptionAsync(Address("visitor@example.org"), evening, TimeSpan.FromHours(1), CancellationToken.None);
                var episode = await host.QueryScalarAsync<long>($"SELECT pending_since FROM subscribers WHERE id = {id}");
                Assert.True(await store.ConfirmAsync(id, episode, CancellationToken.None));
            }
            await daily.RunAsync(null, null, CancellationToken.None);
        }

        var old = _smtp.To("old@example.org");
        var visitor = _smtp.To("visitor@example.org");
        Assert.Equal(["3 new papers", "20 new papers"], old.Select(m => Count(m.Subject)));
        Assert.Equal(["20 new papers"], visitor.Select(m => Count(m.Subject)));
        Assert.All(old.Concat(visitor), m => Assert.Equal(18, m.Date.UtcDateTime.Hour));
        Assert.Equal(0, morning!.Value.Delivery.Sent);
        Assert.Equal([new SkipCount("no new papers since the last digest", 1)], morning.Value.Compose.Skips);
        Assert.Single(host.Logs, line => line.Contains("No digest for 2025-09-08 for 1 readers: no new papers since the last digest (1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PreviewAdminPreviewAndTestMailShowWhatSendNowSendsAndSayWhyWhenItSendsNothing()
    {
        await using var host = NewHost();
        host.Set("Newsletter:Admin:Password", Password);
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var notToday = today.AddDays(1).DayOfWeek.ToString()[..3];
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "done@example.org", "--confirmed")).Exit);
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "weekly@example.org", "--confirmed", "--cadence", "weekly", "--weekly-day", notToday)).Exit);
        Assert.Equal(0, (await host.RunAsync("collect")).Exit);
        Assert.Equal(0, (await host.RunAsync("send-now")).Exit); // done@ has today's digest
        // due@ joins after the collect: the papers of the last day are theirs.
        Assert.Equal(0, (await host.RunAsync("subscribers", "add", "due@example.org", "--confirmed")).Exit);
        var baseUrl = await host.StartServiceAsync();
        using var admin = new FormClient(baseUrl);
        admin.Http.DefaultRequestHeaders.Add("X-Api-Key", Password);
        _smtp.Messages.Clear();

        var previews = new Dictionary<string, (CliResult Cli, string Admin, CliResult Test)>();
        foreach (var reader in (string[])["due@example.org", "done@example.org", "weekly@example.org"])
            previews[reader] = (
                await host.RunAsync("preview", "--email", reader, "--out", Path.Combine(host.Directory, reader)),
                await (await admin.Http.GetAsync($"/admin/preview?email={reader}")).Content.ReadAsStringAsync(),
                await host.RunAsync("send-test", "--to", reader));
        var tests = _smtp.Messages.ToList();
        _smtp.Messages.Clear();
        var send = await host.RunAsync("send-now");

        // Due: the preview, the admin page, the test mail and the digest are one and the same.
        var sent = Assert.Single(_smtp.Messages);
        Assert.Equal("due@example.org", sent.To.Mailboxes.Single().Address);
        var due = previews["due@example.org"];
        var html = await File.ReadAllTextAsync(Path.Combine(host.Directory, "due@example.org", "digest.html"));
        Assert.Equal(Impersonal(sent.HtmlBody), Impersonal(html));
        Assert.Equal(Impersonal(sent.HtmlBody), Impersonal(due.Admin));
        Assert.Equal(Impersonal(sent.HtmlBody), Impersonal(Assert.Single(tests).HtmlBody));
        Assert.Equal(Impersonal(sent.TextBody), Impersonal(await File.ReadAllTextAsync(Path.Combine(host.Directory, "due@example.org", "digest.txt"))));
        Assert.Equal(sent.Subject + "\n", await File.ReadAllTextAsync(Path.Combine(host.Directory, "due@example.org", "subject.txt")));
        Assert.Contains("(12 entries) rendered for due@example.org", due.Cli.Output);
        Assert.Contains("Delivered: 1 sent", send.Output);

        // Done and not due: one line why, the same everywhere; no files, no mail.
        foreach (var (reader, why) in new[] { ("done@example.org", $"already sent their digest of {today:yyyy-MM-dd}"), ("weekly@example.org", "is not one of their days") })
        {
            var (cli, page, test) = previews[reader];
            Assert.Contains($"No digest would be sent to {reader} now: ", cli.Output);
            Assert.Contains(why, cli.Output);
            Assert.Contains(why, page);
            Assert.Equal(1, test.Exit);
            Assert.Contains(why, test.Error);
            Assert.False(Directory.Exists(Path.Combine(host.Directory, reader)), $"{reader}: a preview was written for a digest that is not sent");
        }
    }

    private TestHost NewHost()
    {
        var host = new TestHost(new() { ["Newsletter:Schedule:TimeZone"] = "UTC" });
        host.UseSources(("arxiv-cs.LG", "Rss", _feeds.Url("/rss/cs.LG")));
        host.UseSmtp(_smtp.Port);
        return host;
    }

    private static EmailAddress Address(string text) => EmailAddress.TryParse(text, out var address, out _) ? address! : throw new ArgumentException(text);

    private static string Count(string? subject) => CountPattern().Match(subject ?? "").Value;

    /// <summary>A mail without what is personal to one copy: the signed tokens in links.</summary>
    private static string Impersonal(string? body) => TokenPattern().Replace((body ?? "").ReplaceLineEndings("\n"), "token=T");

    [GeneratedRegex(@"token=[A-Za-z0-9_\-\.%]+")]
    private static partial Regex TokenPattern();

    [GeneratedRegex(@"\d+ new papers?")]
    private static partial Regex CountPattern();
}
