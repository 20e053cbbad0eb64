using Newsletter.Delivery;
using Newsletter.Orchestration;
using Newsletter.Sources;
using Quartz;

namespace Newsletter.Scheduling;

/// <summary>Fetches every source (cron <c>Schedule:Collect</c>).</summary>
[DisallowConcurrentExecution]
internal sealed class CollectJob(Collector collector) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await collector.CollectAsync(cancellationToken);
}

/// <summary>
/// Composes and sends the digests that are due: at <c>Schedule:Digest</c> for readers who chose no
/// zone, hour or days (the date is that of the latest firing, so a firing delayed past midnight
/// still composes its own date), and every <c>Schedule:ReaderPoll</c> for those whose local hour has come.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class DigestJob(DailyDigest digest, CollectGate collects, Microsoft.Extensions.Options.IOptions<SourcesOptions> sources) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        await collects.WaitAsync(sources.Value.SourceTimeout * 2, cancellationToken);
        await digest.RunAsync(null, null, cancellationToken);
    }
}

/// <summary>Once at start-up: sends a digest that fell due while the service was down, if still fresh.</summary>
[DisallowConcurrentExecution]
internal sealed class DigestCatchUpJob(DailyDigest digest, CollectGate collects, Microsoft.Extensions.Options.IOptions<SourcesOptions> sources) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        await collects.WaitAsync(sources.Value.SourceTimeout * 2, cancellationToken);
        await digest.CatchUpAsync(cancellationToken);
    }
}

/// <summary>Sends deliveries whose retry time has come, between digests.</summary>
[DisallowConcurrentExecution]
internal sealed class RetryJob(Dispatcher dispatcher, DeliveryStore deliveries) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        // Most minutes there is nothing due: stay quiet instead of logging an empty run.
        if (await deliveries.AnyDueAsync(cancellationToken))
            await dispatcher.DispatchAsync(null, cancellationToken);
    }
}

/// <summary>Deletes subscribers who never confirmed within <c>Subscriptions:ConfirmationLifetime</c>.</summary>
[DisallowConcurrentExecution]
internal sealed class PurgeUnconfirmedJob(
    Subscriptions.SubscriberStore subscribers,
    Storage.RateLimitStore rateLimits,
    Microsoft.Extensions.Options.IOptions<Subscriptions.SubscriptionOptions> options,
    TimeProvider time,
    ILogger<PurgeUnconfirmedJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var purged = await subscribers.PurgeUnconfirmedAsync(time.GetUtcNow() - options.Value.ConfirmationLifetime, cancellationToken);
        // Shared rate-limit windows (PostgreSQL) long over.
        await rateLimits.PurgeAsync(time.GetUtcNow() - TimeSpan.FromDays(1), cancellationToken);
        if (purged > 0)
            logger.LogInformation("Purged {Count} subscribers who did not confirm within {Lifetime}", purged, options.Value.ConfirmationLifetime);
    }
}

/// <summary>Reads the bounce mailbox (cron <c>Bounces:Schedule</c>); a mailbox that cannot be read is one log line, tried again next time.</summary>
[DisallowConcurrentExecution]
internal sealed class BounceMailboxJob(Bounces.BounceInbox inbox, ILogger<BounceMailboxJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        try
        {
            await inbox.ProcessAsync(cancellationToken);
        }
        catch (Bounces.BounceMailboxException exception)
        {
            logger.LogWarning("Bounce mailbox not read: {Reason}", exception.Message);
        }
        catch (System.Data.Common.DbException exception)
        {
            logger.LogWarning("Bounce mailbox not read: the database is unavailable ({Reason}); nothing was moved", exception.Message);
        }
    }
}
