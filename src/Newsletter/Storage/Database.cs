using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Npgsql;

namespace Newsletter.Storage;

/// <summary>
/// Opens connections to the configured database, ready to use (pragmas set on SQLite). The one
/// place that knows which engine is behind the stores; SQL that differs by dialect is chosen
/// beside the store that runs it, through <see cref="Provider"/>.
/// </summary>
public sealed partial class Database : IDisposable
{
    private readonly string _connectionString = "";
    private readonly int _busyTimeoutMs;
    private readonly NpgsqlDataSource? _postgres;

    public Database(IOptions<DatabaseOptions> options) : this(options.Value.Provider, options.Value.ConnectionString, options.Value.BusyTimeout)
    {
    }

    public Database(DatabaseProvider provider, string connectionString, TimeSpan busyTimeout)
    {
        Provider = provider;
        if (provider == DatabaseProvider.Postgres)
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            // Waiting for a lock is PostgreSQL's business; the statement timeout is not ours to set.
            DataSource = $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}";
            _postgres = NpgsqlDataSource.Create(builder);
            return;
        }
        var sqlite = new SqliteConnectionStringBuilder(connectionString);
        if (sqlite.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(sqlite.DataSource)
            && !sqlite.DataSource.StartsWith("file:", StringComparison.Ordinal))
        {
            sqlite.DataSource = PathResolver.FromCurrentDirectory(sqlite.DataSource);
            Directory.CreateDirectory(Path.GetDirectoryName(sqlite.DataSource)!);
        }
        sqlite.Pooling = true;
        // Microsoft.Data.Sqlite retries a busy database itself for this long (whole seconds).
        sqlite.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds));
        _connectionString = sqlite.ToString();
        _busyTimeoutMs = (int)busyTimeout.TotalMilliseconds;
        DataSource = sqlite.DataSource;
        SqliteFile = sqlite.DataSource;
        if (sqlite.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(sqlite.DataSource) && !sqlite.DataSource.StartsWith("file:", StringComparison.Ordinal)
            && sqlite.DataSource != ":memory:")
        {
            _file = sqlite.DataSource;
            // Health probes open the file itself, never a pooled handle that may point at a deleted one.
            _probeConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString();
        }
    }

    private readonly string? _file;
    private readonly string? _probeConnectionString;
    private volatile bool _fileSeen;
    private (ulong Device, ulong Inode)? _fileIdentity;

    /// <summary>The message when the path now names another file than the one opened first (a backup moved over it), else null.</summary>
    private string? ReplacedFile()
    {
        if (_file is null || _fileIdentity is not { } opened || FileIdentity.Of(_file) is not { } now || now == opened)
            return null;
        // Pooled handles still point at the old, unlinked file: close them so no write goes there.
        SqliteConnection.ClearAllPools();
        return $"the database file {_file} was replaced by another file while the service runs (its inode changed, as when a backup is moved over it); nothing more is written into the old one. Restart to use the new file";
    }

    private void ThrowIfReplaced()
    {
        if (ReplacedFile() is { } replaced)
            throw new StorageUnavailableException(char.ToUpperInvariant(replaced[0]) + replaced[1..] + ".");
    }

    /// <summary>The database's own id (a setting made with the file): tells the file opened at start-up from a replacement.</summary>
    public string? Identity { get; set; }

    public DatabaseProvider Provider { get; }

    public bool IsPostgres => Provider == DatabaseProvider.Postgres;

    /// <summary>The database file or server, for log lines (never the password).</summary>
    public string DataSource { get; }

    /// <summary>The SQLite file, when the provider is SQLite and the database is a file.</summary>
    public string? SqliteFile { get; }

    /// <summary>Picks the statement for this provider: most SQL is shared, and where it is not both sit side by side.</summary>
    public string Sql(string sqlite, string postgres) => IsPostgres ? postgres : sqlite;

    /// <summary>
    /// A list parameter in the dialect: SQLite gets Dapper's <c>IN @ids</c> expansion, PostgreSQL
    /// one array parameter (<c>= ANY(@ids)</c>), which Dapper hands Npgsql unexpanded.
    /// </summary>
    public string InList(string sql) => IsPostgres ? InListPattern().Replace(sql, "= ANY($1)") : sql;

    [System.Text.RegularExpressions.GeneratedRegex(@"\bIN (@\w+)")]
    private static partial System.Text.RegularExpressions.Regex InListPattern();

    /// <summary>File-level settings made once at start-up, before any transaction (SQLite: WAL journal; PostgreSQL: none).</summary>
    public async Task PrepareFileAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (!IsPostgres)
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));
    }

    // Any fixed number: advisory locks are per database, and this one names "newsletter migrations".
    private const long MigrationLockKey = 0x6E65_7773_6C74_7231;

    /// <summary>
    /// A transaction that holds the database's migration lock until it ends, so that migrations
    /// from several processes run one after the other. SQLite: <c>BEGIN IMMEDIATE</c> takes the
    /// file's single write lock (a competing process waits up to <c>Database:BusyTimeout</c>).
    /// PostgreSQL: <c>pg_advisory_xact_lock</c> (instances starting together wait for the first).
    /// </summary>
    public async Task<DbTransaction> BeginMigrationLockAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!IsPostgres)
            return ((SqliteConnection)connection).BeginTransaction(deferred: false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));
        return transaction;
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
            return await _postgres.OpenConnectionAsync(cancellationToken);
        // SQLite keeps writing to a file deleted under it (pooled handles), and a restart then finds
        // nothing: once the file existed, its absence is a fault, not a reason to carry on.
        if (_fileSeen && _file is not null && !File.Exists(_file))
            throw new StorageUnavailableException(
                $"The database file {_file} is gone (deleted or moved while the service runs); nothing more is written. Restore it from a backup or move it back, then restart.");
        ThrowIfReplaced();
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        _fileSeen = true;
        if (_file is not null && _fileIdentity is null)
            _fileIdentity = FileIdentity.Of(_file);
        // Several writers (collector, dispatcher, web) share one file: busy_timeout makes SQLite
        // wait briefly for a competing writer instead of answering BUSY at once.
        await connection.ExecuteAsync($"PRAGMA busy_timeout = {_busyTimeoutMs}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
        return connection;
    }

    /// <summary>
    /// Serialises writers of one kind inside <paramref name="transaction"/> until it ends. SQLite
    /// already serialises every write transaction (Microsoft.Data.Sqlite begins them IMMEDIATE);
    /// PostgreSQL takes a transaction-scoped advisory lock on the name, so read-then-write code
    /// (one issue per date, one subscriber per address) behaves the same on both.
    /// </summary>
    public async Task SerializeAsync(DbConnection connection, DbTransaction transaction, string name)
    {
        if (IsPostgres)
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtextextended(@name, 0))", new { name }, transaction);
    }

    /// <summary>Whether the error is a unique-key violation (the other writer won a race).</summary>
    public static bool IsUniqueViolation(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode is 2067 or 1555, // SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY
        _ => false,
    };

    /// <summary>
    /// Drops every pooled PostgreSQL connection, ours and Quartz's: after the server came back, each
    /// pooled one is dead and would fail once on its next use.
    /// </summary>
    public void ClearPools()
    {
        if (_postgres is null)
            return;
        _postgres.Clear();
        NpgsqlConnection.ClearAllPools();
    }

    public void Dispose() => _postgres?.Dispose();
}

/// <summary>What <see cref="Database.ProbeAsync"/> found; <paramref name="Unreachable"/> is the fault when the server cannot be reached (an outage, said once by <see cref="StorageOutage"/>).</summary>
public sealed record StorageProbe(bool Healthy, string Description, Exception? Unreachable = null);

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
            if (ReplacedFile() is { } replaced)
                return new(false, replaced);
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
            return new(false, StorageFaults.Describe(exception, DataSource), StorageFaults.IsUnreachable(exception) ? exception : null);
        }
    }

    /// <summary>
    /// SQLite's <c>PRAGMA quick_check</c>: reads every page (seconds on a large file), so it runs
    /// periodically in the background, not per request. Null when the file is sound.
    /// </summary>
    public async Task<string?> IntegrityProblemAsync(CancellationToken cancellationToken)
    {
        // PostgreSQL checks its own pages (checksums, WAL); there is no cheap equivalent to ask for.
        if (IsPostgres)
            return null;
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            var result = await connection.ExecuteScalarAsync<string>(new CommandDefinition("PRAGMA quick_check(1)", cancellationToken: cancellationToken));
            return result == "ok" ? null
                : $"the database {DataSource} is damaged (integrity check: {string.Join(" ", (result ?? "").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))}); restore it from a backup";
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
