using Dapper;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Storage;

namespace Newsletter.Scheduling;

/// <summary>
/// On PostgreSQL, each instance's share of the send: every few seconds (<c>Schedule:SharedSendPoll</c>)
/// it looks for due deliveries and, when there are some, dispatches alongside the other instances.
/// The ledger's claims (FOR UPDATE SKIP LOCKED under leases) split the work; a digest fired on one
/// node is thus sent by all of them, and leases left by a dead node are taken over here too.
/// </summary>
internal sealed class SharedSend(Dispatcher dispatcher, DeliveryStore deliveries, IOptions<ScheduleOptions> schedule, TimeProvider time, ILogger<SharedSend> logger) : BackgroundService
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
                    // The database is away for a moment; the next tick tries again.
                    logger.LogWarning("Looking for deliveries to share failed: {Reason}", exception.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}

/// <summary>A scheduler instance Quartz knows of, and whether it checked in recently enough to count as alive.</summary>
public sealed record ClusterNode(string InstanceId, DateTimeOffset LastCheckin, bool Alive);

/// <summary>The instances sharing one PostgreSQL database, as Quartz's scheduler state table records them.</summary>
public sealed class ClusterNodes(Database database, TimeProvider time)
{
    public const string SchedulerName = "Newsletter";

    /// <summary>How often each node checks in; a node silent for twice this is dead and its work recovered.</summary>
    public static readonly TimeSpan CheckinInterval = TimeSpan.FromSeconds(5);

    // Quartz.NET stores check-in times as UTC ticks and the interval in milliseconds.
    private const string NodesSql = """
        SELECT instance_name AS InstanceId, last_checkin_time AS LastCheckinTicks, checkin_interval AS IntervalMs
        FROM qrtz_scheduler_state WHERE sched_name = @name ORDER BY instance_name
        """;

    public async Task<IReadOnlyList<ClusterNode>> ListAsync(CancellationToken cancellationToken)
    {
        if (!database.IsPostgres)
            return [];
        await using var connection = await database.OpenAsync(cancellationToken);
        var now = time.GetUtcNow();
        var rows = await connection.QueryAsync<(string InstanceId, long LastCheckinTicks, long IntervalMs)>(NodesSql, new { name = SchedulerName });
        return rows.Select(row =>
        {
            var last = new DateTimeOffset(row.LastCheckinTicks, TimeSpan.Zero);
            return new ClusterNode(row.InstanceId, last, now - last <= TimeSpan.FromMilliseconds(row.IntervalMs) * 2 + CheckinInterval);
        }).ToList();
    }
}
