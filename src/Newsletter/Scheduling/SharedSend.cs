using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;

namespace Newsletter.Scheduling;

/// <summary>
/// On PostgreSQL, each instance's share of the send: every few seconds (<c>Schedule:SharedSendPoll</c>)
/// it looks for due deliveries and, when there are some, dispatches alongside the other instances.
/// The ledger's claims (FOR UPDATE SKIP LOCKED under leases) split the work; a digest fired on one
/// node is thus sent by all of them, and leases left by a dead node are taken over here too.
/// </summary>
internal sealed class SharedSend(Dispatcher dispatcher, DeliveryStore deliveries, IOptions<ScheduleOptions> schedule, TimeProvider time, Storage.StorageOutage outage, ILogger<SharedSend> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(schedule.Value.SharedSendPoll, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (await deliveries.AnyDueAsync(stoppingToken))
                        await dispatcher.DispatchAsync(null, stoppingToken);
                }
                catch (Exception exception) when (exception is System.Data.Common.DbException or TimeoutException)
                {
                    // The database is away for a moment (said once, by the outage); the next tick tries again.
                    if (!outage.Absorb(exception))
                        logger.LogWarning("Looking for deliveries to share failed: {Reason}", exception.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
