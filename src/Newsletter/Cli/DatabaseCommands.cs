using System.CommandLine;
using Newsletter.Storage;

namespace Newsletter.Cli;

/// <summary><c>database copy --to CONNECTION_STRING [--provider Postgres]</c>.</summary>
internal static class DatabaseCommands
{
    public static Command Create(NewsletterCli cli)
    {
        var command = new Command("database", "Database administration.");
        command.Subcommands.Add(Copy(cli));
        return command;
    }

    private static Command Copy(NewsletterCli cli)
    {
        var to = new Option<string>("--to") { Description = "Connection string of the empty target database.", Required = true };
        var provider = new Option<DatabaseProvider>("--provider") { Description = "The target's provider (default Postgres).", DefaultValueFactory = _ => DatabaseProvider.Postgres };
        var command = new Command("copy", "Copy everything (subscribers, entries, issues, ledger, settings incl. the link secret) into an empty database.") { to, provider };
        command.SetAction(async (parse, ct) =>
        {
            var connectionString = parse.GetValue(to)!;
            var targetProvider = parse.GetValue(provider);
            if (targetProvider == DatabaseProvider.Postgres && DatabaseOptionsValidator.PostgresConnectionProblem(connectionString) is { } problem)
            {
                await cli.Error.WriteLineAsync($"Cannot copy: --to {problem}");
                return ExitCodes.InvalidConfiguration;
            }
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return ExitCodes.InvalidConfiguration;
            var source = cli.Get<Database>();
            using var target = new Database(targetProvider, connectionString, TimeSpan.FromSeconds(10));
            if (target.DataSource == source.DataSource)
            {
                await cli.Error.WriteLineAsync("Cannot copy: --to names the configured database itself.");
                return ExitCodes.InvalidConfiguration;
            }
            try
            {
                var copied = await new DatabaseCopy(source).CopyAsync(target,
                    table => cli.Output.WriteLine($"{table.Table}: {table.Rows} rows"), ct);
                await cli.Output.WriteLineAsync($"Copied {copied.Sum(t => t.Rows)} rows from {source.DataSource} to {target.DataSource}; point Database:Provider and Database:ConnectionString at it to switch.");
                return ExitCodes.Success;
            }
            catch (DatabaseCopyException refused)
            {
                await cli.Error.WriteLineAsync($"Cannot copy: {refused.Message}");
                return ExitCodes.Failed;
            }
            catch (Exception exception) when (exception is System.Data.Common.DbException or TimeoutException or IOException)
            {
                await cli.Error.WriteLineAsync($"Cannot copy to {target.DataSource}: {exception.Message} (nothing was copied)");
                return ExitCodes.Failed;
            }
        });
        return command;
    }
}
