using Newsletter.Sources;
using Quartz;

namespace Newsletter.Scheduling;

/// <summary>
/// What a digest waits for before it composes: the start-up collect, wherever it runs. The service
/// collects once at start (trigger <see cref="StartupTrigger"/>); a digest due at the same moment
/// waits for it rather than finding nothing new and marking the day done for every reader.
/// </summary>
/// <remarks>
/// Several instances on PostgreSQL share one start-up collect: its trigger lives in the shared job
/// store and fires on one node only. So the question is asked of the database, never of this
/// process: the start-up collect is done once its trigger has left the job store (a one-shot
/// trigger is removed when its run completes, on any node) and a collect's end is recorded
/// (<see cref="Collector.FinishedKey"/>). A node that did not collect therefore composes at once,
/// instead of waiting <c>2 × SourceTimeout</c> for a collect of its own that never comes.
/// </remarks>
internal sealed class CollectGate(ISchedulerFactory schedulers, Collector collector, ILogger<CollectGate> logger)
{
    public const string StartupTrigger = "collect-at-start";

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>Returns once the start-up collect has finished (on any instance), or after <paramref name="limit"/> with a warning.</summary>
    public async Task WaitAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        // Real time, not the injected clock: a test's frozen clock must not hold a digest forever.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await DoneAsync(cancellationToken))
        {
            if (waited.Elapsed >= limit)
            {
                logger.LogWarning("The start-up collect has not finished after {Limit} (on any instance); composing without it", limit);
                return;
            }
            await Task.Delay(Poll, cancellationToken);
        }
    }

    private async Task<bool> DoneAsync(CancellationToken cancellationToken)
    {
        try
        {
            var scheduler = await schedulers.GetScheduler(cancellationToken);
            if (await scheduler.GetTrigger(new TriggerKey(StartupTrigger), cancellationToken) is not null)
                return false;
            return await collector.LastFinishedAsync(cancellationToken) is not null;
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or JobPersistenceException)
        {
            // The database is away for a moment (its outage is reported once elsewhere): ask again.
            return false;
        }
    }
}
