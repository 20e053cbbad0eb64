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

    /// <summary>How often the service checks the database file for damage (SQLite quick_check); zero turns it off.</summary>
    public TimeSpan IntegrityCheckInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long the service, starting, waits and retries for a PostgreSQL server that is not up yet
    /// (refused, not resolvable, still starting) before it gives up; zero gives up at once. SQLite never waits.
    /// </summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromMinutes(2);
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
        check.Require(options.IntegrityCheckInterval >= TimeSpan.Zero, "IntegrityCheckInterval", "must not be negative.");
        check.Require(options.StartupTimeout >= TimeSpan.Zero, "StartupTimeout", "must not be negative.");
        if (options.Provider == DatabaseProvider.Postgres && !string.IsNullOrWhiteSpace(options.ConnectionString))
            check.Require(PostgresConnectionProblem(options.ConnectionString) is null, "ConnectionString",
                PostgresConnectionProblem(options.ConnectionString) ?? "");
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

    /// <summary>Why an Npgsql connection string cannot work, before any connection is tried; null when it may.</summary>
    internal static string? PostgresConnectionProblem(string connectionString)
    {
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            if (string.IsNullOrWhiteSpace(builder.Host))
                return "names no Host (an Npgsql connection string: Host=...;Port=...;Database=...;Username=...;Password=...).";
            if (string.IsNullOrWhiteSpace(builder.Database))
                return "names no Database (an Npgsql connection string: Host=...;Port=...;Database=...;Username=...;Password=...).";
            return null;
        }
        catch (ArgumentException exception)
        {
            return $"is not an Npgsql connection string ({exception.Message}); expected Host=...;Port=...;Database=...;Username=...;Password=....";
        }
    }
}
