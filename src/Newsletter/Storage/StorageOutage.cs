using System.Data.Common;
using System.Diagnostics;
using Dapper;

namespace Newsletter.Storage;

/// <summary>
/// A PostgreSQL outage in two log lines per instance: one warning when the server stops answering,
/// one when it answers again, instead of a stack trace from every job, poll and request that
/// touched it meanwhile. Whoever meets an unreachable database hands the fault to
/// <see cref="Absorb"/> and logs nothing more; <see cref="OutageLogging"/> does so for every log
/// entry that carries one (Quartz's job store, the dispatcher, the web front).
/// </summary>
/// <remarks>
/// The end is seen by a probe (a connection and <c>SELECT 1</c> every second), not by waiting for
/// the next caller to succeed, so "back" is logged even while nothing needs the database. On the way
/// back the connection pools are emptied: their connections died with the server, and each would
/// otherwise fail once more and start a second outage.
/// </remarks>
public sealed class StorageOutage(Database database, ILogger<StorageOutage> logger) : IDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);
    private readonly CancellationTokenSource _disposed = new();
    private int _down;

    /// <summary>Whether the database is unreachable right now (an outage has begun and not yet ended).</summary>
    public bool IsDown => Volatile.Read(ref _down) == 1;

    /// <summary>
    /// True when <paramref name="exception"/> says the database cannot be reached: the outage is then
    /// reported (once, however many callers meet it) and watched until it ends; the caller logs nothing.
    /// False for every other fault, which the caller reports as before.
    /// </summary>
    public bool Absorb(Exception exception)
    {
        if (!database.IsPostgres || !StorageFaults.IsUnreachable(exception))
            return false;
        if (Interlocked.CompareExchange(ref _down, 1, 0) == 0)
        {
            logger.LogWarning("The database {Database} is unreachable ({Reason}); waiting for it to come back. Nothing is lost: sends and jobs resume then, web requests are answered 503 meanwhile",
                database.DataSource, StorageFaults.Reason(exception));
            _ = WatchAsync(Stopwatch.StartNew());
        }
        return true;
    }

    private async Task WatchAsync(Stopwatch since)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ProbeInterval, _disposed.Token);
                try
                {
                    await using (var connection = await database.OpenAsync(_disposed.Token))
                        await connection.ExecuteAsync(new CommandDefinition("SELECT 1", cancellationToken: _disposed.Token));
                }
                catch (Exception exception) when (exception is DbException or TimeoutException or IOException)
                {
                    continue;
                }
                database.ClearPools();
                Volatile.Write(ref _down, 0);
                logger.LogWarning("The database {Database} is reachable again after {Seconds:0} s; work resumes", database.DataSource, since.Elapsed.TotalSeconds);
                return;
            }
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested) { }
        catch (ObjectDisposedException) { } // the host is going away
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }
}
