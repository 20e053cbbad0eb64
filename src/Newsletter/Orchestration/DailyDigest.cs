using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Scheduling;
using Quartz;

namespace Newsletter.Orchestration;

/// <summary>The daily loop's second half: compose the issue of a local date, then deliver what is due.</summary>
public sealed class DailyDigest(
    IssueStore issues,
    Dispatcher dispatcher,
    IOptions<ScheduleOptions> schedule,
    IOptions<DeliveryOptions> delivery,
    TimeProvider time,
    ILogger<DailyDigest> logger)
{
    /// <summary>Today in the configured time zone.</summary>
    public DateOnly Today() => LocalDate(time.GetUtcNow());

    /// <summary>
    /// The issue date of an instant: its calendar date in <c>Schedule:TimeZone</c>. Dates, not
    /// instants, identify issues, so DST shifts and clock jumps cannot make two issues of one day.
    /// </summary>
    public DateOnly LocalDate(DateTimeOffset instant) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, schedule.Value.Zone).DateTime);

    /// <summary>The latest digest time (per <c>Schedule:Digest</c>) at or before now, if within <c>Delivery:MaxAge</c>.</summary>
    public DateTimeOffset? LatestDigestTimeWithinMaxAge()
    {
        var now = time.GetUtcNow();
        var cron = new CronExpression(schedule.Value.Digest, schedule.Value.Zone);
        DateTimeOffset? latest = null;
        for (var next = cron.GetNextValidTimeAfter(now - delivery.Value.MaxAge); next is { } fire && fire <= now; next = cron.GetNextValidTimeAfter(fire))
            latest = fire;
        return latest;
    }

    /// <summary>
    /// At start-up: if the service was down when the digest was due and that issue is still fresh
    /// (within MaxAge), compose and send it now, once. Returns the date it caught up on.
    /// </summary>
    public async Task<DateOnly?> CatchUpAsync(CancellationToken cancellationToken)
    {
        if (LatestDigestTimeWithinMaxAge() is not { } missed)
            return null;
        var date = LocalDate(missed);
        if (await issues.ExistsAsync(date, cancellationToken))
            return null;
        logger.LogInformation("The digest of {Date} was due at {Due:u} while the service was down; sending it now", date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), missed);
        await RunAsync(date, null, cancellationToken);
        return date;
    }

    public async Task<ComposeResult> ComposeAsync(DateOnly? date, CancellationToken cancellationToken)
    {
        var result = await issues.ComposeAsync(date ?? Today(), cancellationToken);
        switch (result.Outcome)
        {
            case ComposeOutcome.Composed:
                // One line that accounts for every waiting paper: in the issue, carried, or left out.
                // A warning when papers were left out: the operator may want a larger MaxMoreEntriesPerIssue.
                logger.Log(result.LeftOut > 0 ? LogLevel.Warning : LogLevel.Information, "Issue {Date} composed: holds {Entries} papers ({InFull} in full, {More} in the more-papers list), {Carried} carried over to the next issue, {LeftOut} left out after waiting longer than CarryOverMaxAge; {Deliveries} deliveries",
                    result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), result.Entries, result.InFull, result.Entries - result.InFull, result.Carried, result.LeftOut, result.Deliveries);
                break;
            case ComposeOutcome.AlreadyComposed:
                logger.LogInformation("Issue {Date} was already composed", result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                logger.Log(result.LeftOut > 0 ? LogLevel.Warning : LogLevel.Information, "No new entries since the previous issue: no issue for {Date} ({LeftOut} left out after waiting longer than CarryOverMaxAge)", result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), result.LeftOut);
                break;
        }
        return result;
    }

    public async Task<(ComposeResult Compose, DispatchSummary Delivery)> RunAsync(DateOnly? date, Action<DispatchSummary>? progress, CancellationToken cancellationToken)
    {
        var composed = await ComposeAsync(date, cancellationToken);
        var delivered = await dispatcher.DispatchAsync(progress, cancellationToken);
        return (composed, delivered);
    }
}
