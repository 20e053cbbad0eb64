using Dapper;

namespace Newsletter.Storage;

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
