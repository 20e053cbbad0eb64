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
    }

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

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
            return await _postgres.OpenConnectionAsync(cancellationToken);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
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

    public void Dispose() => _postgres?.Dispose();
}

/// <summary>Timestamps are stored as Unix milliseconds: portable, sortable, free of offsets.</summary>
public static class DbTime
{
    public static long ToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromDb(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
    public static DateTimeOffset? FromDb(long? value) => value is null ? null : FromDb(value.Value);
}
