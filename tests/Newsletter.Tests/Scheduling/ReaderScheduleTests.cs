using Microsoft.Extensions.Time.Testing;
using Newsletter.Issues;
using Newsletter.Orchestration;
using Newsletter.Sources;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Scheduling;

/// <summary>The quarter-hour poll across DST changes: a reader whose hour is skipped or repeated gets one digest that day.</summary>
public sealed class ReaderScheduleTests : IAsyncLifetime
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private readonly SmtpSink _smtp = new();
    private readonly TestHost _host = new(new() { ["Newsletter:Schedule:TimeZone"] = "UTC" });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    [Theory]
    [InlineData(2025, 3, 29, 2, "2025-03-30 03:00")]  // 02:00 does not exist on the 30th: sent at the end of the gap
    [InlineData(2025, 10, 25, 2, "2025-10-26 02:00")] // 02:00 happens twice on the 26th: sent once, at the first
    [InlineData(2025, 10, 25, 8, "2025-10-26 08:00")]
    public async Task AReaderWhoseHourDstSkipsOrRepeatsGetsOneDigestThatDay(int year, int month, int day, int hour, string expectedLocal)
    {
        var start = new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        _host.UseSmtp(_smtp.Port);
        var app = _host.Build(["run"], time);
        await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
        EmailAddress.TryParse("ada@example.org", out var ada, out _);
        await app.Services.GetRequiredService<SubscriberStore>().AddAsync(ada!, true,
            new PreferenceInput { TimeZone = "Europe/Berlin", SendHour = hour.ToString(System.Globalization.CultureInfo.InvariantCulture) }, CancellationToken.None);
        var entries = app.Services.GetRequiredService<EntryStore>();
        var digest = app.Services.GetRequiredService<DailyDigest>();

        // Three days in quarter hours; a new paper every six hours, so every day has something to send.
        var paper = 0;
        for (var now = start.AddMinutes(15); now < start.AddDays(3); now = now.AddMinutes(15))
        {
            time.SetUtcNow(now);
            if (now.Minute == 0 && now.Hour % 6 == 0)
                await entries.UpsertAsync([new Entry($"id:test:{++paper}", $"Paper {paper}", "Abstract.", ["A. Author"], $"https://example.org/{paper}", null, 0, "test")], CancellationToken.None);
            await digest.RunAsync(null, null, CancellationToken.None);
        }

        var local = _smtp.To("ada@example.org").Select(m => TimeZoneInfo.ConvertTime(m.Date, Berlin)).ToList();
        var perDay = local.GroupBy(d => d.Date).ToList();
        Assert.All(perDay, g => Assert.Single(g));
        Assert.Contains(expectedLocal, local.Select(d => d.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(local.Count >= 2, string.Join(", ", local));
    }
}
