using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Options;

namespace Newsletter.Storage;

/// <summary>
/// The service's first contact with its database. A PostgreSQL server that is not up yet (a compose
/// stack whose database starts second, a host rebooting) is waited for: one log line per attempt,
/// backing off from 1 s to 10 s, for at most <c>Database:StartupTimeout</c>; then the last fault is
/// thrown and the service exits with its one sentence, as it does at once for a fault that waiting
/// cannot cure (a wrong password, a missing database).
/// </summary>
/// <remarks>
/// SQLite never waits: its file is there or it is not, and a folder that cannot be opened or written
/// is a configuration or permission problem that the operator must fix, not one that passes.
/// </remarks>
public sealed class DatabaseStartup(IServiceProvider services, IOptions<DatabaseOptions> options, ILogger<DatabaseStartup> logger)
{
    // Resolved only for PostgreSQL: a SQLite folder that cannot be created must fail where
    // start-up reports configuration faults (one sentence), not while this check is built.
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(10);

    public async Task WaitUntilReachableAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Provider != DatabaseProvider.Postgres)
            return;
        var database = services.GetRequiredService<Database>();
        var timeout = options.Value.StartupTimeout;
        // Real time: this runs before anything else and must give up when the operator expects it to.
        var waited = Stopwatch.StartNew();
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await database.OpenAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
                if (attempt > 1)
                    logger.LogWarning("The database {Database} is reachable after {Seconds:0} s ({Attempts} attempts); starting", database.DataSource, waited.Elapsed.TotalSeconds, attempt);
                return;
            }
            catch (Exception exception) when (StorageFaults.IsUnreachable(exception) && waited.Elapsed < timeout && !cancellationToken.IsCancellationRequested)
            {
                var wait = Min(delay, timeout - waited.Elapsed);
                logger.LogWarning("The database {Database} is not reachable yet ({Reason}); attempt {Attempt}, next in {Wait:0.#} s, giving up after Database:StartupTimeout ({Timeout})",
                    database.DataSource, StorageFaults.Reason(exception), attempt, wait.TotalSeconds, timeout);
                await Task.Delay(wait, cancellationToken);
                delay = Min(delay * 2, MaxDelay);
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
