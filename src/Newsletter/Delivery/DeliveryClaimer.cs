using System.Data.Common;

namespace Newsletter.Delivery;

/// <summary>
/// Feeds a run's queue: registers the run's owner, expires what is too old, takes over the claims
/// of runs that died, then claims due deliveries in id order, a batch at a time, until none is left
/// or the run stops. Claims are leased: a crashed run's are resent after the lease, or at once by
/// the next run that sees its owner gone.
/// </summary>
internal sealed class DeliveryClaimer(DeliveryStore deliveries, DeliveryOptions options, RunOwner owner, DispatchRun run, TimeProvider time, ILogger logger)
{
    public async Task ClaimAsync()
    {
        var stop = run.Stopping;
        try
        {
            await deliveries.RegisterOwnerAsync(owner, stop);
            run.Expired += Telemetry.NewsletterTelemetry.RecordDeliveries(DeliveryStatus.Expired, await deliveries.ExpireStaleAsync(options.MaxAge, stop));
            await TakeOverDeadOwnersAsync(stop);
            var after = 0L;
            while (!stop.IsCancellationRequested)
            {
                var batch = await deliveries.ClaimAsync(after, options.BatchSize, options.LeaseDuration, owner.Id, stop);
                if (batch.Count == 0)
                {
                    // Claims taken over from a run that died meanwhile may lie behind us: one more pass.
                    if (await TakeOverDeadOwnersAsync(stop) > 0)
                    {
                        after = 0;
                        continue;
                    }
                    break;
                }
                after = batch[^1].Id;
                // The whole batch is ours from now on (its leases are renewed), even the part
                // still waiting for room in the queue.
                foreach (var delivery in batch)
                    run.Unfinished[delivery.Id] = 0;
                foreach (var delivery in batch)
                    await run.Queue.Writer.WriteAsync(delivery, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (Exception exception) when (exception is DbException)
        {
            run.Fail($"the delivery ledger cannot be read: {exception.Message}");
        }
        finally
        {
            run.Queue.Writer.TryComplete();
        }
    }

    /// <summary>
    /// A run that died (kill -9, power cut) left its claims under its name: take them now rather
    /// than after <c>Delivery:LeaseDuration</c>. Returns how many claims came back.
    /// </summary>
    private async Task<int> TakeOverDeadOwnersAsync(CancellationToken stop)
    {
        var taken = 0;
        var now = time.GetUtcNow();
        foreach (var other in await deliveries.OwnersAsync(stop))
        {
            if (other.Id == owner.Id || LeaseHeartbeat.IsAlive(other, options, now))
                continue;
            var gone = RunOwner.IsGoneFromThisHost(other.Host, other.Pid, other.StartedAt);
            var count = await deliveries.TakeOverAsync(other.Id, stop);
            taken += count;
            logger.LogWarning("Took over {Count} deliveries claimed by a run that is gone ({Owner}, {Why})", count, other.Id,
                gone ? "its process has exited" : $"no heartbeat since {Storage.DbTime.FromDb(other.HeartbeatAt):u}");
        }
        return taken;
    }
}
