using Newsletter.Delivery;
using Newsletter.Issues;
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

/// <summary>Composes today's issue and sends it (cron <c>Schedule:Digest</c> in <c>Schedule:TimeZone</c>).</summary>
[DisallowConcurrentExecution]
internal sealed class DigestJob(DailyDigest digest) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await digest.RunAsync(null, null, cancellationToken);
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
