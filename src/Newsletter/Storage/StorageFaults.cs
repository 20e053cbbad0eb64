using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Newsletter.Storage;

/// <summary>The database cannot be used (e.g. its file was deleted under the running service).</summary>
public sealed class StorageUnavailableException(string message) : DbException(message);

/// <summary>
/// One sentence an operator can act on for a database fault, instead of a driver message and a
/// stack trace. The SQLite-specific part of fault reporting lives here (a PostgreSQL provider
/// adds its own error classes).
/// </summary>
public static class StorageFaults
{
    // https://www.sqlite.org/rescode.html (primary result codes).
    private const int Busy = 5, Locked = 6, ReadOnly = 8, IoError = 10, Corrupt = 11, Full = 13, CantOpen = 14, NotADatabase = 26;

    /// <summary>Whether <paramref name="exception"/> is a storage fault this class can describe.</summary>
    public static bool IsStorageFault(Exception exception) => exception is DbException;

    /// <summary>
    /// Whether the database server cannot be reached right now, a state that passes by itself: refused,
    /// not resolvable, the connection dropped, a timeout, or the server starting up or shutting down
    /// (SQLSTATE 57P01-57P03, class 08). Not: a wrong password, a missing database, a bad statement, nor
    /// any SQLite fault (a file is there or it is not; waiting changes nothing). The exception may
    /// arrive wrapped (Quartz's JobPersistenceException holds Npgsql's).
    /// </summary>
    public static bool IsUnreachable(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case Npgsql.PostgresException postgres:
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal) || postgres.SqlState is "57P01" or "57P02" or "57P03";
                case Npgsql.NpgsqlException { IsTransient: true }:
                    return true;
                case Npgsql.NpgsqlException:
                    return false;
            }
        }
        return false;
    }

    /// <summary>The driver's reason in one line, without the exception's type or a stack trace.</summary>
    public static string Reason(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
            if (current is DbException)
                return current.Message.TrimEnd('.');
        return exception.Message.TrimEnd('.');
    }

    public static string Describe(Exception exception, string dataSource) => exception switch
    {
        StorageUnavailableException gone => gone.Message,
        SqliteException { SqliteErrorCode: Corrupt or NotADatabase } sqlite =>
            $"The database {dataSource} is damaged or is not a Newsletter database ({sqlite.Message.TrimEnd('.')}); nothing was changed. Restore it from a backup, or move it aside to start afresh.",
        SqliteException { SqliteErrorCode: ReadOnly } sqlite =>
            $"The database {dataSource} cannot be written ({sqlite.Message.TrimEnd('.')}): check that the file, its -wal/-shm files and its folder belong to the user running Newsletter and are writable.",
        SqliteException { SqliteErrorCode: CantOpen } sqlite =>
            $"The database {dataSource} cannot be opened ({sqlite.Message.TrimEnd('.')}): check that its folder exists and is writable, and Database:ConnectionString.",
        SqliteException { SqliteErrorCode: Full } =>
            $"The disk holding {dataSource} is full; nothing was lost, free some space and try again.",
        SqliteException { SqliteErrorCode: IoError } sqlite =>
            $"The database {dataSource} could not be read or written (I/O error: {sqlite.Message.TrimEnd('.')}); check the disk.",
        SqliteException { SqliteErrorCode: Busy or Locked } sqlite =>
            $"The database {dataSource} is busy ({sqlite.Message.TrimEnd('.')}); another process holds it for longer than Database:BusyTimeout. Nothing was lost; try again.",
        _ => $"The database {dataSource} is unavailable ({exception.Message.TrimEnd('.')}).",
    };
}
