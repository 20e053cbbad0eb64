using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Storage;

public enum DatabaseProvider { Sqlite, Postgres }

public sealed class DatabaseOptions
{
    public const string Section = "Newsletter:Database";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;
    public string ConnectionString { get; set; } = "Data Source=data/newsletter.db";

    /// <summary>How long a statement waits for another writer before giving up with "database is locked".</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        var check = new ValidationFailures(DatabaseOptions.Section);
        check.Require(!string.IsNullOrWhiteSpace(options.ConnectionString), "ConnectionString", "must not be empty.");
        check.Require(options.Provider != DatabaseProvider.Sqlite || string.IsNullOrWhiteSpace(options.ConnectionString) || SqliteProblem(options.ConnectionString) is null,
            "ConnectionString", $"is not a valid SQLite connection string ({SqliteProblem(options.ConnectionString)}); e.g. 'Data Source=data/newsletter.db'.");
        check.Require(options.BusyTimeout >= TimeSpan.Zero, "BusyTimeout", "must not be negative.");
        // The SQL is kept portable, but only the SQLite schema ships in this version: say so
        // instead of failing later with a driver error.
        check.Require(options.Provider == DatabaseProvider.Sqlite, "Provider",
            "'Postgres' is not available in this version yet; use 'Sqlite'.");
        return check.Result();
    }

    private static string? SqliteProblem(string connectionString)
    {
        try
        {
            _ = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
            return null;
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException)
        {
            return exception.Message.TrimEnd('.');
        }
    }
}
