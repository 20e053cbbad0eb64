using Microsoft.Extensions.Options;
using Quartz;

namespace Newsletter.Configuration;

public sealed class ScheduleOptions
{
    public const string Section = "Newsletter:Schedule";

    /// <summary>Quartz cron for collecting (default: at the top of every hour).</summary>
    public string Collect { get; set; } = "0 0 * * * ?";

    /// <summary>Quartz cron for composing and sending the digest, in <see cref="TimeZone"/>.</summary>
    public string Digest { get; set; } = "0 0 7 * * ?";

    /// <summary>
    /// Quartz cron (UTC) of the look for readers whose own send hour has come; every quarter of an
    /// hour, so a reader's digest leaves within 15 minutes of their hour (on the hour with whole-hour zones).
    /// </summary>
    public string ReaderPoll { get; set; } = "0 0/15 * * * ?";

    /// <summary>IANA zone the digest cron and the issue date are read in.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>How often due retries are looked for between digests.</summary>
    public TimeSpan RetryPoll { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>PostgreSQL only: how often each instance looks for deliveries to send alongside the others.</summary>
    public TimeSpan SharedSendPoll { get; set; } = TimeSpan.FromSeconds(5);

    public TimeZoneInfo Zone => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}

internal sealed class ScheduleOptionsValidator : IValidateOptions<ScheduleOptions>
{
    public ValidateOptionsResult Validate(string? name, ScheduleOptions options)
    {
        var check = new ValidationFailures(ScheduleOptions.Section);
        check.Require(CronExpression.TryParse(options.Collect, out _), "Collect", $"is not a valid Quartz cron expression: '{options.Collect}'.");
        check.Require(CronExpression.TryParse(options.Digest, out _), "Digest", $"is not a valid Quartz cron expression: '{options.Digest}'.");
        check.Require(CronExpression.TryParse(options.ReaderPoll, out _), "ReaderPoll", $"is not a valid Quartz cron expression: '{options.ReaderPoll}'.");
        check.Require(TimeZoneInfo.TryFindSystemTimeZoneById(options.TimeZone, out _), "TimeZone", $"is not a known IANA time zone: '{options.TimeZone}'.");
        check.Require(options.RetryPoll >= TimeSpan.FromSeconds(1), "RetryPoll", "must be at least one second.");
        check.Require(options.SharedSendPoll >= TimeSpan.FromMilliseconds(100), "SharedSendPoll", "must be at least 100 milliseconds.");
        return check.Result();
    }
}
