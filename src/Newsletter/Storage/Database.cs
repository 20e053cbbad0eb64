using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Storage;

/// <summary>Opens connections to the configured database, ready to use (pragmas set).</summary>
public sealed class Database
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
    }

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
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // Several writers (collector, dispatcher, web) share one file: busy_timeout makes SQLite
        // wait briefly for a competing writer instead of answering BUSY at once.
        await connection.ExecuteAsync($"PRAGMA busy_timeout = {_busyTimeoutMs}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
        return connection;
    }
}

/// <summary>Timestamps are stored as Unix milliseconds: portable, sortable, free of offsets.</summary>
public static class DbTime
{
    public static long ToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromDb(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
    public static DateTimeOffset? FromDb(long? value) => value is null ? null : FromDb(value.Value);
}
