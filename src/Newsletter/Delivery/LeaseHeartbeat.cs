using System.Data.Common;

namespace Newsletter.Delivery;

/// <summary>
/// The run owner's heartbeat, and the leases of its claims still queued or in flight: only a dead
/// process loses them. Runs until everything is recorded, shutdown included.
/// </summary>
internal sealed class LeaseHeartbeat(DeliveryStore deliveries, DeliveryOptions options, string ownerId, DispatchRun run, TimeProvider time, Storage.StorageOutage outage, ILogger logger)
{
    /// <summary>How often the owner beats: <c>Delivery:HeartbeatInterval</c>, but often enough to renew leases in time.</summary>
    public static TimeSpan Tick(DeliveryOptions options) =>
        TimeSpan.FromTicks(Math.Min(options.HeartbeatInterval.Ticks, options.LeaseDuration.Ticks / 3));

    /// <summary>Whether the run that holds claims is alive: its heartbeat fresh (three beats) and, on this host, its process there.</summary>
    public static bool IsAlive(StoredRunOwner owner, DeliveryOptions options, DateTimeOffset now) =>
        owner.HeartbeatAt >= Storage.DbTime.ToDb(now - Tick(options) * 3)
        && !RunOwner.IsGoneFromThisHost(owner.Host, owner.Pid, owner.StartedAt);

    public async Task BeatAsync(CancellationToken stop)
    {
        var tick = Tick(options);
        using var timer = new PeriodicTimer(tick, time);
        var lastRenewal = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await deliveries.HeartbeatAsync(ownerId, stop);
                    if (time.GetElapsedTime(lastRenewal) >= options.LeaseDuration / 3 - tick / 2)
                    {
                        await deliveries.RenewLeasesAsync(run.Unfinished.Keys.ToArray(), options.LeaseDuration, stop);
                        lastRenewal = time.GetTimestamp();
                    }
                }
                catch (Exception exception) when (exception is DbException)
                {
                    // An outage is said once for the whole process; any other fault here, each time.
                    if (!outage.Absorb(exception))
                        logger.LogWarning("Renewing delivery leases failed: {Reason}", exception.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }
}
