using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Rendering;
using Newsletter.Sources;
using Newsletter.Storage;
using Newsletter.Subscriptions;

namespace Newsletter.Cli;

/// <summary>
/// The verbs of the contract. Without a verb (or with <c>run</c>) the service runs; every other
/// verb does its work on the same services and exits. Results go to <paramref name="output"/>,
/// problems to <paramref name="error"/>, logs to stderr.
/// </summary>
public sealed class NewsletterCli(WebApplication app, TextWriter output, TextWriter error)
{
    private IServiceProvider Services => app.Services;

    public async Task<int> InvokeAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("Newsletter: a self-hosted daily papers digest.") { TreatUnmatchedTokensAsErrors = false };
        root.SetAction((_, ct) => RunServiceAsync(ct));
        var run = new Command("run", "Run the service: scheduler and web front (the default).") { TreatUnmatchedTokensAsErrors = false };
        run.SetAction((_, ct) => RunServiceAsync(ct));
        root.Subcommands.Add(run);
        root.Subcommands.Add(CollectCommand());
        root.Subcommands.Add(SendNowCommand());
        root.Subcommands.Add(PreviewCommand());
        root.Subcommands.Add(TemplatesCommand());
        root.Subcommands.Add(SendTestCommand());
        root.Subcommands.Add(SubscriberCommands.Create(this));
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    internal TextWriter Output => output;

    internal TextWriter Error => error;

    internal T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// Validates every options class (as host start-up would) and prepares the database.
    /// Returns false, having said why, when the configuration is invalid.
    /// </summary>
    internal async Task<bool> PrepareAsync(CancellationToken cancellationToken)
    {
        try
        {
            Services.GetService<IStartupValidator>()?.Validate();
            await Get<StartupTasks>().RunAsync(cancellationToken);
            return true;
        }
        catch (Exception exception) when (ConfigurationFailures(exception) is { Count: > 0 } failures)
        {
            foreach (var failure in failures)
                await error.WriteLineAsync($"Invalid configuration: {failure}");
            return false;
        }
        catch (Exception exception) when (exception is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"Cannot start: {exception.Message}");
            return false;
        }
    }

    private async Task<int> RunServiceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (Exception exception) when (ConfigurationFailures(exception) is { Count: > 0 } failures)
        {
            foreach (var failure in failures)
                await error.WriteLineAsync($"Invalid configuration: {failure}");
            return 2;
        }
    }

    /// <summary>
    /// The sentences of an invalid configuration: validation failures (several arrive as an
    /// AggregateException) or a value the binder could not convert (which names its key).
    /// </summary>
    private static List<string> ConfigurationFailures(Exception exception) => exception switch
    {
        OptionsValidationException validation => validation.Failures.ToList(),
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(ConfigurationFailures).ToList(),
        InvalidOperationException { Message: var message } when message.Contains("configuration value", StringComparison.OrdinalIgnoreCase) => [message],
        _ => [],
    };

    private Command CollectCommand()
    {
        var command = new Command("collect", "Fetch every source once and store new entries.");
        command.SetAction(async (_, ct) =>
        {
            if (!await PrepareAsync(ct)) return 2;
            var reports = await Get<Collector>().CollectAsync(ct);
            foreach (var report in reports)
                await output.WriteLineAsync(report.ToString());
            await output.WriteLineAsync($"{reports.Sum(r => r.Added)} new entries from {reports.Count} sources ({reports.Count(r => r.Outcome == CollectOutcome.Failed)} failed)");
            return 0;
        });
        return command;
    }

    private Command SendNowCommand()
    {
        var date = new Option<string?>("--date") { Description = "Issue date, YYYY-MM-DD (default: today in Schedule:TimeZone)." };
        var command = new Command("send-now", "Compose the issue of a date if not yet composed and deliver every pending delivery.") { date };
        command.SetAction(async (parse, ct) =>
        {
            DateOnly? issueDate = null;
            if (parse.GetValue(date) is { } text)
            {
                if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
                {
                    await error.WriteLineAsync($"--date must be YYYY-MM-DD; got '{text}'.");
                    return 2;
                }
                issueDate = parsed;
            }
            if (!await PrepareAsync(ct)) return 2;
            try
            {
                return await SendNowAsync(issueDate, ct);
            }
            catch (System.Data.Common.DbException exception)
            {
                // Nothing is lost: claimed deliveries return when their lease runs out.
                await error.WriteLineAsync($"The database is unavailable ({exception.Message}); nothing was lost, run send-now again.");
                return 1;
            }
        });
        return command;
    }

    private async Task<int> SendNowAsync(DateOnly? issueDate, CancellationToken ct)
    {
        var digest = Get<DailyDigest>();
        var composed = await digest.ComposeAsync(issueDate, ct);
        await output.WriteLineAsync(composed.Outcome switch
        {
            ComposeOutcome.Composed => $"Issue {composed.Date:yyyy-MM-dd}: composed with {composed.Entries} entries for {composed.Deliveries} subscribers ({composed.InFull} in full, {composed.Entries - composed.InFull} under more papers; {composed.Carried} carried over to the next issue, {composed.LeftOut} left out)",
            ComposeOutcome.AlreadyComposed => $"Issue {composed.Date:yyyy-MM-dd}: already composed",
            _ => $"Issue {composed.Date:yyyy-MM-dd}: no new entries since the previous issue, nothing composed ({composed.LeftOut} left out)",
        });
        var summary = await Get<Dispatcher>().DispatchAsync(
            progress => output.WriteLine($"  ... {progress.Total} processed ({progress})"), ct);
        await output.WriteLineAsync($"Delivered: {summary.Sent} sent, {summary.Deferred} deferred, {summary.Bounced + summary.Expired} failed ({summary.Bounced} bounced, {summary.Expired} expired), {summary.Skipped} skipped");
        var ledger = await Get<DeliveryStore>().CountsAsync(ct);
        await output.WriteLineAsync("Ledger: " + string.Join(", ", ledger.Select(c => $"{c.Count} {c.Status}")));
        if (ledger.FirstOrDefault(c => c.Status == DeliveryStatus.Sending).Count is > 0 and var held)
            await output.WriteLineAsync($"{held} deliveries are held by another or an interrupted run; they are sent again when their lease (Delivery:LeaseDuration) runs out.");
        if (summary.RunFailure is not null)
        {
            await error.WriteLineAsync($"Delivery stopped: {summary.RunFailure}");
            return 1;
        }
        return 0;
    }

    private Command PreviewCommand()
    {
        var email = new Option<string?>("--email") { Description = "Render as this subscriber would get it." };
        var outDir = new Option<string?>("--out") { Description = "Folder for the files (default: preview)." };
        var date = new Option<string?>("--date") { Description = "Issue date, YYYY-MM-DD: that issue as composed, or what composing it now would hold (default: today)." };
        var command = new Command("preview", "Render the current issue to files without sending.") { email, date, outDir };
        command.SetAction(async (parse, ct) =>
        {
            DateOnly? issueDate = null;
            if (parse.GetValue(date) is { } text)
            {
                if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
                {
                    await error.WriteLineAsync($"--date must be YYYY-MM-DD; got '{text}'.");
                    return 2;
                }
                issueDate = parsed;
            }
            if (!await PrepareAsync(ct)) return 2;
            var previews = Get<DigestPreviews>();
            var recipient = await previews.RecipientAsync(parse.GetValue(email), ct);
            if (recipient is null)
            {
                await error.WriteLineAsync($"'{parse.GetValue(email)}' is not a valid email address.");
                return 2;
            }
            var (issue, note) = await previews.IssueForAsync(issueDate, ct);
            var directory = Path.GetFullPath(parse.GetValue(outDir) ?? "preview");
            try
            {
                var files = await previews.WriteAsync(issue, recipient, directory, ct);
                if (note is not null)
                    await output.WriteLineAsync(note);
                await output.WriteLineAsync($"Issue {issue.Date:yyyy-MM-dd} ({issue.PaperCount} entries) rendered for {recipient.Email}:");
                foreach (var file in files)
                    await output.WriteLineAsync("  " + file);
                return 0;
            }
            catch (Exception exception) when (exception is TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException)
            {
                await error.WriteLineAsync($"Cannot render: {exception.Message}");
                return 1;
            }
        });
        return command;
    }

    private Command TemplatesCommand()
    {
        var check = new Command("check", "Parse and test-render every template; prints file:line:col: message per error.");
        check.SetAction(async (_, ct) =>
        {
            var problems = Get<TemplateChecker>().Check();
            foreach (var problem in problems)
                await error.WriteLineAsync(problem);
            await output.WriteLineAsync(problems.Count == 0 ? "All templates are valid." : $"{problems.Count} template error(s).");
            return problems.Count == 0 ? 0 : 1;
        });
        return new Command("templates", "Template tools.") { check };
    }

    private Command SendTestCommand()
    {
        var to = new Option<string>("--to") { Description = "Recipient address.", Required = true };
        var command = new Command("send-test", "Send the current digest to one address, outside the ledger.") { to };
        command.SetAction(async (parse, ct) =>
        {
            if (!await PrepareAsync(ct)) return 2;
            var previews = Get<DigestPreviews>();
            var recipient = await previews.RecipientAsync(parse.GetValue(to), ct);
            if (recipient is null)
            {
                await error.WriteLineAsync($"'{parse.GetValue(to)}' is not a valid email address.");
                return 2;
            }
            try
            {
                var issue = await previews.CurrentIssueAsync(ct);
                var destination = await previews.SendAsync(issue, recipient, ct);
                await output.WriteLineAsync($"Sent issue {issue.Date:yyyy-MM-dd} ({issue.Entries.Count} entries) to {recipient.Email} through {destination}");
                return 0;
            }
            catch (Exception exception) when (exception is DeliveryException or TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException)
            {
                await error.WriteLineAsync($"Test send failed: {exception.Message}");
                return 1;
            }
        });
        return command;
    }
}
