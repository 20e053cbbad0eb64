using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Telemetry;

namespace Newsletter.Orchestration;

/// <summary>The daily loop's second half: compose the digests that are due (or those of a date), then deliver what is due.</summary>
public sealed class DailyDigest(
    DigestComposer composer,
    DeliveryStore deliveries,
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

    /// <summary>
    /// At start-up: readers whose send time passed while the service was down (within MaxAge) and
    /// who were not served that date get their digest now, once. Returns the date it caught up on.
    /// </summary>
    public async Task<DateOnly?> CatchUpAsync(CancellationToken cancellationToken)
    {
        var (composed, _) = await RunAsync(null, null, cancellationToken);
        if (composed.Outcome != ComposeOutcome.Composed)
            return null;
        logger.LogInformation("Digests of {Date} were due while the service was down; sent them now", composed.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        return composed.Date;
    }

    /// <summary>
    /// With a date: that date's digest for every reader whose days include it, whatever their hour
    /// (<c>send-now --date</c>). Without: the readers whose local send time has come (the scheduler).
    /// </summary>
    public async Task<ComposeResult> ComposeAsync(DateOnly? date, CancellationToken cancellationToken)
    {
        ComposeResult result;
        using (NewsletterTelemetry.Activities.StartActivity("compose"))
            result = await composer.ComposeAsync(date, delivery.Value.MaxAge, cancellationToken);
        // Due: got a digest, or was looked at and skipped with a reason (nothing new for them).
        NewsletterTelemetry.ReadersDue.Record(result.Deliveries + result.NothingNew);
        var dateText = result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        switch (result.Outcome)
        {
            case ComposeOutcome.Composed:
                // One line that accounts for every waiting paper: in a digest, carried, or left out.
                // A warning when papers were left out: the operator may want a larger MaxMoreEntriesPerIssue.
                logger.Log(result.LeftOut > 0 ? LogLevel.Warning : LogLevel.Information, "Issue {Date} composed: holds {Entries} papers ({InFull} in full, {More} in the more-papers list), {Carried} carried over to the next issue, {LeftOut} left out after waiting longer than CarryOverMaxAge; {Deliveries} deliveries in {Groups} preference groups, {NothingNew} readers with nothing new",
                    dateText, result.Entries, result.InFull, result.Entries - result.InFull, result.Carried, result.LeftOut, result.Deliveries, result.Groups, result.NothingNew);
                break;
            case ComposeOutcome.AlreadyComposed when date is not null:
                logger.LogInformation("Issue {Date} was already composed", dateText);
                break;
            case ComposeOutcome.NoEntries when date is not null || result.NothingNew > 0 || result.LeftOut > 0:
                logger.Log(result.LeftOut > 0 ? LogLevel.Warning : LogLevel.Information, "No new entries since the previous issue: no issue for {Date} ({NothingNew} readers with nothing new, {LeftOut} left out after waiting longer than CarryOverMaxAge)", dateText, result.NothingNew, result.LeftOut);
                break;
        }
        // What is decided not to send is said with its reason (a reader's scheduled look settles their date, so once per reader and date).
        if (result.NothingNew > 0)
            logger.LogInformation("No digest for {Date} for {Readers} readers: {Reasons}",
                dateText, result.NothingNew, string.Join("; ", result.Skips.Select(s => $"{s.Reason} ({s.Readers})")));
        return result;
    }

    public async Task<(ComposeResult Compose, DispatchSummary Delivery)> RunAsync(DateOnly? date, Action<DispatchSummary>? progress, CancellationToken cancellationToken)
    {
        var composed = await ComposeAsync(date, cancellationToken);
        // The scheduler asks every few minutes; most times nobody is due and there is nothing to send.
        if (date is null && composed.Outcome != ComposeOutcome.Composed && !await deliveries.AnyDueAsync(cancellationToken))
            return (composed, new DispatchSummary(0, 0, 0, 0, 0, null));
        var delivered = await dispatcher.DispatchAsync(progress, cancellationToken);
        await RecordBacklogAsync(cancellationToken);
        return (composed, delivered);
    }

    /// <summary>What the ledger still holds to send after a run (waiting for a retry, or claimed elsewhere).</summary>
    private async Task RecordBacklogAsync(CancellationToken cancellationToken)
    {
        try
        {
            var counts = await deliveries.CountsAsync(cancellationToken);
            NewsletterTelemetry.LedgerBacklog.Record(counts.Where(c => c.Status is DeliveryStatus.Pending or DeliveryStatus.Sending).Sum(c => c.Count));
        }
        catch (System.Data.Common.DbException exception)
        {
            logger.LogDebug(exception, "Could not count the ledger's backlog");
        }
    }
}
