using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Storage;

/// <summary>Opens connections to the configured database, ready to use (pragmas set).</summary>
public sealed partial class Database
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMs;

    public Database(IOptions<DatabaseOptions> options)
    {
        var builder = new SqliteConnectionStringBuilder(options.Value.ConnectionString);
        if (builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource)
            && !builder.DataSource.StartsWith("file:", StringComparison.Ordinal))
        {
            builder.DataSource = PathResolver.FromCurrentDirectory(builder.DataSource);
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
        }
        builder.Pooling = true;
        // Microsoft.Data.Sqlite retries a busy database itself for this long (whole seconds).
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.Value.BusyTimeout.TotalSeconds));
        _connectionString = builder.ToString();
        _busyTimeoutMs = (int)options.Value.BusyTimeout.TotalMilliseconds;
        DataSource = builder.DataSource;
        if (builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && !builder.DataSource.StartsWith("file:", StringComparison.Ordinal)
            && builder.DataSource != ":memory:")
        {
            _file = builder.DataSource;
            // Health probes open the file itself, never a pooled handle that may point at a deleted one.
            _probeConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString();
        }
    }

    private readonly string? _file;
    private readonly string? _probeConnectionString;
    private volatile bool _fileSeen;

    /// <summary>The database's own id (a setting made with the file): tells the file opened at start-up from a replacement.</summary>
    public string? Identity { get; set; }

    /// <summary>The database file, for log lines.</summary>
    public string DataSource { get; }

    /// <summary>File-level settings made once at start-up, before any transaction (SQLite: WAL journal).</summary>
    public async Task PrepareFileAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));

    /// <summary>
    /// A transaction that holds the database's migration lock until it ends, so that migrations
    /// from several processes run one after the other. SQLite: <c>BEGIN IMMEDIATE</c> takes the
    /// file's single write lock (a competing process waits up to <c>Database:BusyTimeout</c>).
    /// A PostgreSQL provider takes <c>pg_advisory_xact_lock</c> here instead.
    /// </summary>
    public Task<DbTransaction> BeginMigrationLockAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // SQLite keeps writing to a file deleted under it (pooled handles), and a restart then finds
        // nothing: once the file existed, its absence is a fault, not a reason to carry on.
        if (_fileSeen && _file is not null && !File.Exists(_file))
            throw new StorageUnavailableException(
                $"The database file {_file} is gone (deleted or moved while the service runs); nothing more is written. Restore it from a backup or move it back, then restart.");
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        _fileSeen = true;
        // Several writers (collector, dispatcher, web) share one file: busy_timeout makes SQLite
        // wait briefly for a competing writer instead of answering BUSY at once.
        await connection.ExecuteAsync($"PRAGMA busy_timeout = {_busyTimeoutMs}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
        return connection;
    }
}

/// <summary>What <see cref="Database.ProbeAsync"/> found.</summary>
public sealed record StorageProbe(bool Healthy, string Description);

public sealed partial class Database
{
    /// <summary>
    /// Is the database the one opened at start-up, and writable? Opens the file afresh (no pool),
    /// reads its identity and writes one row; cheap enough for every <c>/health</c> request.
    /// </summary>
    public async Task<StorageProbe> ProbeAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            if (_file is not null && !File.Exists(_file))
                return new(false, $"the database file {_file} is gone (deleted or moved while the service runs)");
            await using var connection = _probeConnectionString is null ? await OpenAsync(cancellationToken) : new SqliteConnection(_probeConnectionString);
            if (connection.State != System.Data.ConnectionState.Open)
            {
                await connection.OpenAsync(cancellationToken);
                await connection.ExecuteAsync($"PRAGMA busy_timeout = {_busyTimeoutMs};");
            }
            var identity = await connection.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT value FROM settings WHERE key = 'database_id'", cancellationToken: cancellationToken));
            if (Identity is not null && identity != Identity)
                return new(false, $"the database file {DataSource} was replaced by another one while the service runs; restart to use it");
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO settings (key, value) VALUES ('health_probe', @now) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                new { now = DbTime.ToDb(time.GetUtcNow()).ToString(System.Globalization.CultureInfo.InvariantCulture) }, cancellationToken: cancellationToken));
            var version = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT MAX(version) FROM schema_version", cancellationToken: cancellationToken));
            return new(true, $"schema version {version}, writable");
        }
        catch (DbException exception)
        {
            return new(false, StorageFaults.Describe(exception, DataSource));
        }
    }

    /// <summary>
    /// SQLite's <c>PRAGMA quick_check</c>: reads every page (seconds on a large file), so it runs
    /// periodically in the background, not per request. Null when the file is sound.
    /// </summary>
    public async Task<string?> IntegrityProblemAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            var result = await connection.ExecuteScalarAsync<string>(new CommandDefinition("PRAGMA quick_check(1)", cancellationToken: cancellationToken));
            return result == "ok" ? null : $"the database {DataSource} is damaged (integrity check: {result}); restore it from a backup";
        }
        catch (DbException exception)
        {
            return StorageFaults.Describe(exception, DataSource);
        }
    }
}

/// <summary>Timestamps are stored as Unix milliseconds: portable, sortable, free of offsets.</summary>
public static class DbTime
{
    public static long ToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromDb(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
    public static DateTimeOffset? FromDb(long? value) => value is null ? null : FromDb(value.Value);
}
