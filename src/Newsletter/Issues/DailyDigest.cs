using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Scheduling;

namespace Newsletter.Issues;

/// <summary>The daily loop's second half: compose the issue of a local date, then deliver what is due.</summary>
public sealed class DailyDigest(IssueStore issues, Dispatcher dispatcher, IOptions<ScheduleOptions> schedule, TimeProvider time, ILogger<DailyDigest> logger)
{
    /// <summary>Today in the configured time zone.</summary>
    public DateOnly Today() => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), schedule.Value.Zone).DateTime);

    public async Task<ComposeResult> ComposeAsync(DateOnly? date, CancellationToken cancellationToken)
    {
        var result = await issues.ComposeAsync(date ?? Today(), cancellationToken);
        switch (result.Outcome)
        {
            case ComposeOutcome.Composed:
                logger.LogInformation("Issue {Date} composed: {Entries} entries, {Deliveries} deliveries", result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), result.Entries, result.Deliveries);
                break;
            case ComposeOutcome.AlreadyComposed:
                logger.LogInformation("Issue {Date} was already composed", result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                logger.LogInformation("No new entries since the previous issue: no issue for {Date}", result.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
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
