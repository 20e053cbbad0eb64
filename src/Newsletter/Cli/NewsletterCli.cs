using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Rendering;
using Newsletter.Sources;
using Newsletter.Storage;

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
        var root = new RootCommand("Newsletter: a self-hosted daily papers digest. Without a verb, runs the service.");
        AddServiceOptions(root);
        root.SetAction((_, ct) => RunServiceAsync(ct));
        var run = new Command("run", "Run the service: scheduler and web front (the default).");
        AddServiceOptions(run);
        run.SetAction((_, ct) => RunServiceAsync(ct));
        root.Subcommands.Add(run);
        root.Subcommands.Add(CollectCommand());
        root.Subcommands.Add(SendNowCommand());
        root.Subcommands.Add(PreviewCommand());
        root.Subcommands.Add(TemplatesCommand());
        root.Subcommands.Add(SendTestCommand());
        root.Subcommands.Add(SubscriberCommands.Create(this));
        root.Subcommands.Add(DatabaseCommands.Create(this));
        root.Subcommands.Add(DkimCommands.Create(this));
        // --Newsletter:Key=value overrides were read by the host's configuration already.
        var tokens = ConfigurationArguments.Split(args).Others;
        // "help" and "help VERB" act as --help, as operators type them.
        if (tokens is ["help", .. var verbPath])
            tokens = [.. verbPath, "--help"];
        var parse = root.Parse(tokens);
        if (parse.Errors.Count > 0)
            return await CommandLineErrors.ReportAsync(parse, error);
        // Signals are ours: send-now stops gracefully (ShutdownSignals), the service through its
        // host; System.CommandLine's own handling would end the process after 2 s, claims held.
        try
        {
            return await parse.InvokeAsync(
                new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (Exception exception) when (StorageFaults.IsStorageFault(exception))
        {
            // A damaged, read-only or vanished database: one sentence, never a stack trace.
            await error.WriteLineAsync(StorageFaults.Describe(exception, Get<Database>().DataSource));
            return ExitCodes.Failed;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A bug: as System.CommandLine's own handler did, the whole exception for the report, exit 1.
            await error.WriteLineAsync($"Unexpected error: {exception}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// What the host reads from the service's command line, listed for --help (the values are
    /// taken out before parsing, with every --Newsletter:Key=value override, by <see cref="ConfigurationArguments"/>).
    /// </summary>
    private static void AddServiceOptions(Command command)
    {
        command.Options.Add(new Option<string>("--urls") { Description = "Addresses to listen on, e.g. http://0.0.0.0:5080 (default http://localhost:5080; also ASPNETCORE_URLS)." });
        command.Options.Add(new Option<string>("--environment") { Description = "Host environment name; appsettings.{name}.json is read too." });
    }

    internal TextWriter Output => output;

    internal TextWriter Error => error;

    internal T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// Checks the whole configuration (as the service does before it starts) and prepares the
    /// database. Returns false, having said why, when the configuration is invalid.
    /// </summary>
    /// <param name="rendersTemplates">
    /// False for a verb that renders no mail or page (<c>subscribers list</c>, <c>collect</c>, ...): a
    /// broken or missing template is then a warning, so the operator can still look at the list while
    /// fixing it; the verbs that render refuse, naming the file.
    /// </param>
    internal async Task<bool> PrepareAsync(CancellationToken cancellationToken, bool rendersTemplates = true)
    {
        if (!await CheckConfigurationAsync(rendersTemplates ? null : requirement => requirement is TemplatesFolderValidator))
            return false;
        if (!rendersTemplates)
            foreach (var problem in Services.GetServices<IStartupRequirement>().OfType<TemplatesFolderValidator>().SelectMany(r => r.Problems(Get<IConfiguration>())))
                await error.WriteLineAsync($"Warning: {problem}");
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
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"Cannot start: {exception.Message}");
            return false;
        }
    }

    /// <summary>Every configuration mistake at once, one sentence each, before anything starts.</summary>
    private async Task<bool> CheckConfigurationAsync(Func<IStartupRequirement, bool>? skip = null)
    {
        var report = Get<ConfigurationCheck>().Run(skip);
        foreach (var warning in report.Warnings)
            await error.WriteLineAsync($"Warning: {warning}");
        foreach (var problem in report.Problems)
            await error.WriteLineAsync($"Invalid configuration: {problem}");
        if (report.Problems.Count > 0)
            await error.WriteLineAsync($"{report.Problems.Count} configuration problem(s); nothing was started. Keys and allowed values: README.md, section Configuration.");
        return report.Problems.Count == 0;
    }

    /// <summary>
    /// The sentences of an invalid configuration the check could not see in advance: validation
    /// failures (several arrive as an AggregateException) or a value the binder could not convert.
    /// </summary>
    private static List<string> ConfigurationFailures(Exception exception) => exception switch
    {
        OptionsValidationException validation => validation.Failures.ToList(),
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(ConfigurationFailures).ToList(),
        InvalidOperationException { Message: var message } when message.Contains("configuration value", StringComparison.OrdinalIgnoreCase) => [message],
        _ => [],
    };

    private async Task<int> RunServiceAsync(CancellationToken cancellationToken)
    {
        if (!await CheckConfigurationAsync())
            return ExitCodes.InvalidConfiguration;
        // A bad --urls is found before the database is created or migrated.
        var urls = Get<IConfiguration>()["urls"] ?? "http://localhost:5080";
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (UrlProblem(url) is { } problem)
            {
                await error.WriteLineAsync($"Invalid configuration: --urls (or ASPNETCORE_URLS) {problem}");
                return ExitCodes.InvalidConfiguration;
            }
        // A database that is not up yet (compose, a reboot) is waited for; the verbs answer at once.
        await Get<DatabaseStartup>().WaitUntilReachableAsync(cancellationToken);
        if (!await PrepareAsync(cancellationToken))
            return ExitCodes.InvalidConfiguration;
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (AnotherServiceRunningException refused)
        {
            await error.WriteLineAsync(refused.Message);
            return ExitCodes.Failed;
        }
        catch (Exception exception) when (ConfigurationFailures(exception) is { Count: > 0 } failures)
        {
            foreach (var failure in failures)
                await error.WriteLineAsync($"Invalid configuration: {failure}");
            return ExitCodes.InvalidConfiguration;
        }
        catch (IOException exception) when (exception.InnerException is AddressInUseException || exception.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel says "Failed to bind to address http://127.0.0.1:5991: address already in use."
            var address = System.Text.RegularExpressions.Regex.Match(exception.Message, @"address (\S+?):? address already in use", System.Text.RegularExpressions.RegexOptions.IgnoreCase) is { Success: true } m ? m.Groups[1].Value : urls;
            await error.WriteLineAsync($"Cannot listen on {address}: address already in use; another instance may be running, or choose another address with --urls.");
            return ExitCodes.Failed;
        }
        catch (IOException exception)
        {
            await error.WriteLineAsync($"Cannot start: {exception.Message}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>What Kestrel would refuse in one --urls entry, as a sentence; null when it is fine.</summary>
    private static string? UrlProblem(string url)
    {
        try
        {
            var address = Microsoft.AspNetCore.Http.BindingAddress.Parse(url);
            return address.Scheme is "http" or "https" || address.IsUnixPipe || address.IsNamedPipe
                ? null
                : $"must use http or https; got '{url}'.";
        }
        catch (FormatException)
        {
            return $"must be addresses such as http://0.0.0.0:5080 (several separated by ';'); got '{url}'.";
        }
    }

    private Command CollectCommand()
    {
        var command = new Command("collect", "Fetch every source once and store new entries.");
        command.SetAction(async (_, ct) =>
        {
            if (!await PrepareAsync(ct, rendersTemplates: false)) return ExitCodes.InvalidConfiguration;
            // Entries may land on pages that are sound while others are broken: writing into a
            // damaged file only makes it worse, so collect checks it first (list/export fail on reading it).
            if (await Get<Database>().IntegrityProblemAsync(ct) is { } damaged)
            {
                await error.WriteLineAsync(char.ToUpperInvariant(damaged[0]) + damaged[1..] + "; nothing was collected.");
                return ExitCodes.Failed;
            }
            var reports = await Get<Collector>().CollectAsync(ct);
            // Each outcome once: failures on stderr (the collector's own log lines are muted for verbs).
            foreach (var report in reports)
                await (report.Outcome == CollectOutcome.Failed ? error : output).WriteLineAsync(report.ToString());
            var failed = reports.Count(r => r.Outcome == CollectOutcome.Failed);
            await output.WriteLineAsync($"{reports.Sum(r => r.Added)} new entries from {reports.Count} sources ({failed} failed)");
            var embedding = Get<Collector>().LastEmbedding;
            await output.WriteLineAsync(embedding is null ? "Learned ranking: off (Ranking:Model is Off), papers are ordered by score" : $"Learned ranking: {embedding}");
            if (reports.Count > 0 && failed == reports.Count)
            {
                await error.WriteLineAsync("Every source failed; nothing was collected.");
                return ExitCodes.Failed;
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private Command SendNowCommand()
    {
        var date = new Option<string?>("--date") { Description = "Issue date, YYYY-MM-DD (default: today in Schedule:TimeZone)." };
        var command = new Command("send-now", "Compose the issue of a date if not yet composed and deliver every pending delivery.") { date };
        command.SetAction(async (parse, ct) =>
        {
            var (validDate, issueDate) = await ReadDateAsync(parse.GetValue(date));
            if (!validDate) return 2;
            if (!await PrepareAsync(ct)) return 2;
            using var signals = new ShutdownSignals(Get<IHostApplicationLifetime>());
            try
            {
                // The operator running send-now is the one who lifts a hold on sending.
                if (await Get<SendHold>().ReleaseAsync(ct) is { } held)
                    await output.WriteLineAsync($"Sending was held: {held}. Resumed by this send-now.");
                return await SendNowAsync(issueDate, signals, ct);
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

    /// <summary>
    /// Who this send-now sent nothing, and why: by reason, then (the first few) by address; and
    /// that the scheduled digest still looks at them that day, so a manual run takes nothing away.
    /// </summary>
    private async Task ReportSkipsAsync(ComposeResult composed, CancellationToken ct)
    {
        const int Listed = 20;
        if (composed.NothingNew > 0)
        {
            foreach (var skip in composed.Skips)
                await output.WriteLineAsync($"  {Readers(skip.Readers)} no mail now: {skip.Reason}");
            var skipped = await Get<IssueStore>().SkipsAsync(composed.Date, composed.ComposedAt, Listed, ct);
            foreach (var (email, reason) in skipped)
                await output.WriteLineAsync($"    {email}: {reason}");
            if (composed.NothingNew > skipped.Count)
                await output.WriteLineAsync($"    ... and {composed.NothingNew - skipped.Count} more");
            await output.WriteLineAsync("  Those whose hour has not come yet today are not done: the scheduled digest looks at them again at their hour and sends what has been collected by then.");
        }
        if (composed.NotOnDate > 0)
            await output.WriteLineAsync($"  {Readers(composed.NotOnDate)} no digest on {composed.Date:dddd} (not one of their days); send-now leaves them to the schedule.");
    }

    private static string Readers(int count) => count == 1 ? "1 reader gets" : $"{count} readers get";

    /// <summary>The <c>--date</c> of send-now and preview: null when not given; not valid (said on stderr) when it is no YYYY-MM-DD date.</summary>
    private async Task<(bool Valid, DateOnly? Date)> ReadDateAsync(string? text)
    {
        if (text is null)
            return (true, null);
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            return (true, parsed);
        await error.WriteLineAsync($"--date must be YYYY-MM-DD; got '{text}'.");
        return (false, null);
    }

    private async Task<int> SendNowAsync(DateOnly? issueDate, ShutdownSignals signals, CancellationToken ct)
    {
        var digest = Get<DailyDigest>();
        // The issue of that date for every reader whose days include it, whatever their hour.
        // Composing is one short transaction: a signal during it lets it finish, then sends nothing.
        var composed = await digest.ComposeAsync(issueDate ?? digest.Today(), CancellationToken.None);
        await output.WriteLineAsync(composed.Outcome switch
        {
            ComposeOutcome.Composed => $"Issue {composed.Date:yyyy-MM-dd}: composed with {composed.Entries} entries for {composed.Deliveries} subscribers ({composed.InFull} in full, {composed.Entries - composed.InFull} under more papers; {composed.Carried} carried over to the next issue, {composed.LeftOut} left out)"
                + (composed.Groups > 1 ? $" in {composed.Groups} preference groups" : ""),
            ComposeOutcome.AlreadyComposed => $"Issue {composed.Date:yyyy-MM-dd}: already composed",
            _ => $"Issue {composed.Date:yyyy-MM-dd}: no new entries since the previous issue, nothing composed ({composed.LeftOut} left out)",
        });
        await ReportSkipsAsync(composed, ct);
        var due = (await Get<DeliveryStore>().CountsAsync(ct)).Where(c => c.Status is DeliveryStatus.Pending or DeliveryStatus.Sending).Sum(c => c.Count);
        var progress = new SendProgress(output, Get<TimeProvider>(), due);
        var summary = await progress.RunAsync(report => Get<Dispatcher>().DispatchAsync(report, ct));
        await output.WriteLineAsync($"Delivered: {summary.Sent} sent, {summary.Deferred} deferred, {summary.Bounced + summary.Expired} failed ({summary.Bounced} bounced, {summary.Expired} expired), {summary.Skipped} skipped");
        var ledger = await Get<DeliveryStore>().CountsAsync(ct);
        await output.WriteLineAsync(ledger.Count == 0 ? "Ledger: no deliveries yet" : "Ledger: " + string.Join(", ", ledger.Select(c => $"{c.Count} {c.Status}")));
        if (summary.Interrupted)
        {
            var left = ledger.Where(c => c.Status is DeliveryStatus.Pending or DeliveryStatus.Sending).Sum(c => c.Count);
            await error.WriteLineAsync($"Stopped by {signals.SignalName}: {summary.Sent} sent in this run, {summary.Released} claimed but unsent returned to the queue"
                + (summary.CutOff > 0 ? $" ({summary.CutOff} cut off mid-send at Delivery:ShutdownTimeout, which may arrive twice)" : "")
                + $"; {left} deliveries left for the next run (send-now again, or the service).");
            return signals.Signal == 0 ? 1 : signals.ExitCode;
        }
        if (ledger.FirstOrDefault(c => c.Status == DeliveryStatus.Sending).Count > 0)
        {
            var (live, dead) = await Get<Dispatcher>().HeldElsewhereAsync(ct);
            if (live > 0)
                await output.WriteLineAsync($"{live} deliveries are being sent by another run that is still working (its heartbeat is fresh); it records them itself.");
            if (dead > 0)
                await output.WriteLineAsync($"{dead} deliveries are held by a run that stopped without releasing them; they are sent again when their lease (Delivery:LeaseDuration) runs out, or at once by the next run once that run's heartbeat is stale.");
        }
        if (summary.RunFailure is not null)
        {
            await error.WriteLineAsync($"Delivery stopped: {summary.RunFailure}");
            return 1;
        }
        return 0;
    }

    /// <summary>One count everywhere, the one the subject line gives: every paper of the digest, full and compact.</summary>
    private static string Papers(Issue issue) => ReaderActions.Papers(issue);

    private Command PreviewCommand()
    {
        var email = new Option<string?>("--email") { Description = "Render as this subscriber would get it." };
        var outDir = new Option<string?>("--out") { Description = "Folder for the files (default: preview)." };
        var date = new Option<string?>("--date") { Description = "Issue date, YYYY-MM-DD: that issue as composed, or what composing it now would hold (default: today)." };
        var command = new Command("preview", "Render the current issue to files without sending.") { email, date, outDir };
        command.SetAction(async (parse, ct) =>
        {
            var (validDate, issueDate) = await ReadDateAsync(parse.GetValue(date));
            if (!validDate) return 2;
            if (!await PrepareAsync(ct)) return 2;
            var previews = Get<DigestPreviews>();
            var recipient = await previews.RecipientAsync(parse.GetValue(email), ct);
            if (recipient is null)
            {
                await error.WriteLineAsync($"'{parse.GetValue(email)}' is not a valid email address.");
                return 2;
            }
            var (issue, note) = await previews.IssueForAsync(parse.GetValue(email), issueDate, ct);
            if (issue is null)
            {
                // Nothing would be sent: say why, and write nothing that could pass for a digest.
                await output.WriteLineAsync(note);
                return 0;
            }
            var directory = Path.GetFullPath(parse.GetValue(outDir) ?? "preview");
            try
            {
                var files = await previews.WriteAsync(issue, recipient, directory, ct);
                if (note is not null)
                    await output.WriteLineAsync(note);
                await output.WriteLineAsync($"Issue {issue.Date:yyyy-MM-dd} ({Papers(issue)}) rendered for {recipient.Email}:");
                foreach (var file in files)
                    await output.WriteLineAsync("  " + file);
                // Gmail clips a part past ~102 KB, hiding the footer with the unsubscribe link: this digest, or a heavy day's.
                var (html, text) = Get<DigestRenderer>().MeasureParts(issue, recipient);
                if (Math.Max(html, text) > DigestSizeBudget.PartLimit)
                    await error.WriteLineAsync($"warning: this digest's {(html >= text ? "HTML" : "plain-text")} part is {Math.Max(html, text):N0} bytes, over {DigestSizeBudget.PartLimit:N0}: Gmail clips it and hides what follows, the unsubscribe link included");
                foreach (var warning in Get<TemplateChecker>().SizeWarnings())
                    await error.WriteLineAsync(warning);
                return 0;
            }
            catch (Exception exception) when (exception is TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException)
            {
                await error.WriteLineAsync($"Cannot render: {exception.Message}");
                return 1;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // --out names a file, or a folder that cannot be created or written.
                await error.WriteLineAsync($"Cannot write the preview to {directory}: {exception.Message}");
                return ExitCodes.Failed;
            }
        });
        return command;
    }

    private Command TemplatesCommand()
    {
        var lint = new Option<bool>("--lint") { Description = "Also lint the rendered sample mails against caniemail (Gmail, Outlook, Apple Mail, Yahoo) and html-validate's accessibility rules (needs Node.js and lint/'s npm packages)." };
        var lintModules = new Option<string?>("--lint-modules") { Description = $"The node_modules folder holding the lint's packages (default: {TemplateLint.DefaultModules}; when that is missing, the lint is skipped with a note)." };
        var check = new Command("check", "Parse and test-render every template; prints file:line:col: message per error.") { lint, lintModules };
        check.SetAction(async (parse, ct) =>
        {
            // Every other configuration mistake is reported as for any verb; the templates
            // themselves (missing ones included) are this verb's own report.
            if (!await CheckConfigurationAsync(skip: requirement => requirement is TemplatesFolderValidator))
                return ExitCodes.InvalidConfiguration;
            var problems = Get<TemplateChecker>().Check();
            foreach (var problem in problems)
                await error.WriteLineAsync(problem);
            await output.WriteLineAsync(problems.Count == 0 ? "All templates are valid." : $"{problems.Count} template error(s).");
            if (problems.Count == 0)
                foreach (var warning in Get<TemplateChecker>().SizeWarnings())
                    await error.WriteLineAsync(warning);
            if (problems.Count > 0 || !parse.GetValue(lint))
                return problems.Count == 0 ? 0 : 1;
            return await LintTemplatesAsync(parse.GetValue(lintModules), ct);
        });
        return new Command("templates", "Template tools.") { check };
    }

    /// <summary>
    /// <c>--lint</c>: exit 1 on a finding. Without Node or the packages it says how to get them, and
    /// exits 0 when they were only looked for in the default place, 1 when <c>--lint-modules</c> named a folder.
    /// </summary>
    private async Task<int> LintTemplatesAsync(string? modules, CancellationToken cancellationToken)
    {
        var templates = Get<TemplateStore>();
        var samples = TemplateLintSamples.Render(Get<DigestRenderer>(), Get<Subscriptions.ConfirmationMailer>(), templates);
        var exceptions = Path.Combine(templates.Root, TemplateLint.ExceptionsFile);
        var result = await TemplateLint.RunAsync(samples, modules ?? TemplateLint.DefaultModules, exceptions, templates.Display(exceptions), cancellationToken);
        foreach (var line in result.Lines)
        {
            // Findings and "not run" go where template errors go; the summary and notes are the report.
            var report = line.StartsWith("Mail lint:", StringComparison.Ordinal) || line.StartsWith("note:", StringComparison.Ordinal);
            await (report ? output : error).WriteLineAsync(line);
        }
        return result.Outcome switch
        {
            LintOutcome.Clean => 0,
            LintOutcome.ToolsMissing when modules is null => 0,
            _ => ExitCodes.Failed,
        };
    }

    private Command SendTestCommand()
    {
        var to = new Option<string>("--to") { Description = "Recipient address.", Required = true };
        var command = new Command("send-test", "Send the current digest to one address, outside the ledger.") { to };
        command.SetAction(async (parse, ct) =>
        {
            if (!await PrepareAsync(ct)) return 2;
            var result = await Get<ReaderActions>().SendTestAsync(parse.GetValue(to), ct);
            await (result.Succeeded ? output : error).WriteLineAsync(result.Sentence);
            return result.Status switch { ReaderActionStatus.Done => 0, ReaderActionStatus.Unknown => 2, _ => 1 };
        });
        return command;
    }
}
