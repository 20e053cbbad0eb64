namespace Newsletter.Storage;

/// <summary>
/// Refuses a second service on one SQLite file: Quartz cannot cluster on SQLite, so two services
/// would both fire every schedule. The lock is an exclusive open of a file beside the database,
/// which the operating system releases when the process ends however it ends (even SIGKILL).
/// </summary>
public sealed class SingleServiceGuard(Database database, ILogger<SingleServiceGuard> logger) : IHostedService, IDisposable
{
    private FileStream? _lock;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (database.SqliteFile is not { } file)
            return Task.CompletedTask;
        var path = file + ".service-lock";
        try
        {
            _lock = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            _lock.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _lock.Write(pid);
            _lock.Flush();
        }
        catch (IOException)
        {
            throw new AnotherServiceRunningException(
                $"Another Newsletter service is already running on {file}: SQLite serves one service at a time (use Database:Provider=Postgres to run several); the other verbs keep working beside it.");
        }
        logger.LogDebug("Service lock {Path} taken", path);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }
}

/// <summary>The one sentence a refused second service prints.</summary>
public sealed class AnotherServiceRunningException(string message) : Exception(message);
