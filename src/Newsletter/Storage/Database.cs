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
        // Several writers (collector, dispatcher, web) share one file: wait rather than fail.
        builder.DefaultTimeout = 30;
        _connectionString = builder.ToString();
        DataSource = builder.DataSource;
    }

    /// <summary>The database file, for log lines.</summary>
    public string DataSource { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // busy_timeout makes SQLite itself wait for a competing writer instead of answering BUSY.
        await connection.ExecuteAsync("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
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
