using System.Diagnostics;
using Npgsql;

namespace Newsletter.Tests.Support;

/// <summary>
/// The PostgreSQL server the tests use: the one named by <see cref="Variable"/> (CI's
/// <c>.ci/run</c> starts a throwaway cluster and sets it), else a throwaway cluster this test run
/// starts itself from the Debian binaries (<c>initdb</c>/<c>pg_ctl</c> on a free port under a temp
/// folder, stopped when the run ends), else none. Each <see cref="CreateDatabase"/> is a fresh,
/// empty database, dropped again by <see cref="DropDatabase"/>.
/// </summary>
public static class TestPostgres
{
    /// <summary>An Npgsql connection string to a server where the tests may create databases.</summary>
    public const string Variable = "NEWSLETTER_TEST_POSTGRES";

    /// <summary>Set to <c>Postgres</c> to run the whole behaviour suite on PostgreSQL instead of SQLite.</summary>
    public const string ProviderVariable = "NEWSLETTER_TEST_PROVIDER";

    public const string HowToGetOne =
        "PostgreSQL is not available: install the server binaries (`apt-get install postgresql`; the tests run their own throwaway cluster with initdb/pg_ctl, never the system one) or set "
        + Variable + " to a connection string of a server where databases may be created";

    private static readonly Lazy<string?> Server = new(FindOrStart, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether the behaviour suite runs on PostgreSQL in this test run.</summary>
    public static bool SuiteOnPostgres =>
        string.Equals(Environment.GetEnvironmentVariable(ProviderVariable), "Postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>The admin connection string, or a skip (a failure under CI's switch) saying how to get one.</summary>
    public static string Require()
    {
        var server = Server.Value;
        SystemPrograms.Require(server is not null, HowToGetOne);
        return server!;
    }

    public static string CreateDatabase()
    {
        var server = Server.Value ?? throw new InvalidOperationException(HowToGetOne);
        var name = "newsletter_test_" + Guid.NewGuid().ToString("N")[..16];
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = true }.ConnectionString;
    }

    public static void DropDatabase(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        using var connection = new NpgsqlConnection(Server.Value);
        connection.Open();
        using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        command.ExecuteNonQuery();
    }

    private static string? FindOrStart()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
            return given;
        var bin = SystemPrograms.PostgresBinaries;
        return bin is null ? null : StartThrowawayCluster(bin);
    }

    /// <summary>initdb refuses to run as root, so as root the cluster belongs to the postgres user.</summary>
    private static string StartThrowawayCluster(string bin)
    {
        var root = Path.Combine(Path.GetTempPath(), "newsletter-pg-" + Guid.NewGuid().ToString("N")[..8]);
        var data = Path.Combine(root, "data");
        Directory.CreateDirectory(root);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
            Run("chown", ["postgres", root]);
        var port = SmtpSink.FreePort();
        RunAs(asRoot, Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        RunAs(asRoot, Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(root, "log"), "-w", "-o",
            $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", "start"]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { RunAs(asRoot, Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]); Directory.Delete(root, true); }
            catch (Exception) { } // the run is over either way
        };
        return $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";
    }

    internal static void RunAs(bool asRoot, string program, string[] arguments) =>
        Run(asRoot ? "runuser" : program, asRoot ? ["-u", "postgres", "--", program, .. arguments] : arguments);

    private static void Run(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}{output.Result}");
    }
}
