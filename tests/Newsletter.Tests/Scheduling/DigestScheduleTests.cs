using Newsletter.Issues;
using Newsletter.Orchestration;
using Newsletter.Sources;
using Newsletter.Tests.Support;
using Quartz;

namespace Newsletter.Tests.Scheduling;

/// <summary>Catch-up after downtime, DST and clock jumps, with a fake clock and Quartz's own cron arithmetic.</summary>
public sealed class DigestScheduleTests : IAsyncLifetime
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private readonly ManualClock _time = new();
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new(new() { ["Newsletter:Schedule:TimeZone"] = "Europe/Berlin" });
    private int _entries;

    public async ValueTask InitializeAsync()
    {
        _host.UseSmtp(_smtp.Port);
        await _host.RunAsync("subscribers", "add", "ada@example.org", "--confirmed");
        // Ada subscribed long before the fake clock's dates (she was added on the real clock).
        await _host.ExecuteAsync("UPDATE subscribers SET created_at = 0, served_until = 0");
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    /// <summary>A clock that, unlike FakeTimeProvider, may also be set back (as NTP or an operator can).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now;

        public void SetUtcNow(DateTimeOffset now) => _now = now;

        public override DateTimeOffset GetUtcNow() => _now;
    }

    private async Task<DailyDigest> StartAtAsync(DateTimeOffset now, string cron = "0 0 7 * * ?")
    {
        _time.SetUtcNow(now);
        _host.Set("Newsletter:Schedule:Digest", cron);
        var app = _host.Build(["run"], _time);
        await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
        return app.Services.GetRequiredService<DailyDigest>();
    }

    /// <summary>A paper first seen now, so that any compose from now on has something to send.</summary>
    private Task NewPaperAsync() =>
        _host.Service<EntryStore>().UpsertAsync([new Entry($"id:test:{++_entries}", $"Paper {_entries}", "Abstract.", ["A. Author"], "https://example.org/" + _entries, null, 0, "test")], CancellationToken.None);

    private static DateTimeOffset Local(int year, int month, int day, int hour, int minute = 0) =>
        new(new DateTime(year, month, day, hour, minute, 0), Berlin.GetUtcOffset(new DateTime(year, month, day, hour, minute, 0)));

    [Fact]
    public async Task ADigestMissedWhileDownIsSentOnceAtStartWhileStillFresh()
    {
        var digest = await StartAtAsync(Local(2025, 9, 8, 9, 30));
        await NewPaperAsync();

        var caughtUp = await digest.CatchUpAsync(CancellationToken.None);
        var again = await (await StartAtAsync(Local(2025, 9, 8, 10, 0))).CatchUpAsync(CancellationToken.None);

        Assert.Equal(new DateOnly(2025, 9, 8), caughtUp);
        Assert.Null(again);
        Assert.Single(_smtp.To("ada@example.org"));
    }

    [Fact]
    public async Task ADigestMissedLongerThanMaxAgeAgoIsNotSent()
    {
        // Due 2025-09-08 07:00; back up 22 h later (MaxAge 20 h), before the next one is due.
        var digest = await StartAtAsync(Local(2025, 9, 9, 5, 0));
        await NewPaperAsync();

        Assert.Null(await digest.CatchUpAsync(CancellationToken.None));
        Assert.Empty(_smtp.Messages);
    }

    [Fact]
    public async Task AStartBeforeTheDigestTimeSendsNothingEarly()
    {
        var digest = await StartAtAsync(Local(2025, 9, 8, 6, 59));
        await NewPaperAsync();

        // Yesterday's digest (07:00, 24 h ago) is past MaxAge; today's is not due yet.
        Assert.Null(await digest.CatchUpAsync(CancellationToken.None));
        Assert.Empty(_smtp.Messages);
    }

    [Theory]
    [InlineData(2025, 3, 29)]  // spring forward: 02:30 does not exist on the 30th
    [InlineData(2025, 10, 25)] // fall back: 02:30 happens twice on the 26th
    public async Task DaylightSavingChangesNeverMakeTwoIssuesForOneDate(int year, int month, int day)
    {
        const string cron = "0 30 2 * * ?";
        var from = Local(year, month, day, 0);
        var digest = await StartAtAsync(from, cron);
        var expression = new CronExpression(cron, Berlin);

        // Fire the job exactly when Quartz's cron says, with new papers before every firing.
        var firings = new List<DateTimeOffset>();
        for (var fire = expression.GetNextValidTimeAfter(from); fire is { } at && at < from.AddDays(3); fire = expression.GetNextValidTimeAfter(at))
        {
            _time.SetUtcNow(at);
            await NewPaperAsync();
            await digest.RunAsync(digest.LocalDate(at), null, CancellationToken.None);
            firings.Add(at);
        }

        var dates = firings.Select(f => digest.LocalDate(f)).Distinct().Count();
        Assert.Equal(dates, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM issues"));
        Assert.Equal(dates, _smtp.To("ada@example.org").Count);
        Assert.Equal(dates, _smtp.To("ada@example.org").Select(m => m.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task AClockJumpingBackDoesNotSendTheSameDayTwice()
    {
        var digest = await StartAtAsync(Local(2025, 9, 8, 7, 0));
        await NewPaperAsync();
        await digest.RunAsync(digest.Today(), null, CancellationToken.None);

        _time.SetUtcNow(Local(2025, 9, 8, 6, 0)); // e.g. NTP corrects a clock that ran an hour fast
        _time.SetUtcNow(Local(2025, 9, 8, 7, 0)); // ...and the 07:00 trigger fires once more
        await NewPaperAsync();
        await digest.RunAsync(digest.Today(), null, CancellationToken.None);

        Assert.Single(_smtp.To("ada@example.org"));
        Assert.Equal(1L, await _host.QueryScalarAsync<long>("SELECT COUNT(*) FROM issues"));
    }
}
