using System.CommandLine;
using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Newsletter.Storage;
using Newsletter.Subscriptions;

namespace Newsletter.Cli;

/// <summary><c>subscribers add | list | remove | import | export</c>.</summary>
internal static class SubscriberCommands
{
    public static Command Create(NewsletterCli cli)
    {
        var command = new Command("subscribers", "Subscriber administration.");
        command.Subcommands.Add(Add(cli));
        command.Subcommands.Add(List(cli));
        command.Subcommands.Add(Remove(cli));
        command.Subcommands.Add(Import(cli));
        command.Subcommands.Add(Export(cli));
        return command;
    }

    private static Command Add(NewsletterCli cli)
    {
        var address = new Argument<string>("address") { Description = "Email address." };
        var confirmed = new Option<bool>("--confirmed") { Description = "Mark active at once (you vouch for their consent); without it the address gets the confirmation mail." };
        var command = new Command("add", "Add a subscriber: pending, with a confirmation mail sent now, unless --confirmed.") { address, confirmed };
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot add '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            if (!await cli.PrepareAsync(ct)) return 2;
            var (outcome, subscriber) = await cli.Get<SubscriberStore>().AddAsync(email!, parse.GetValue(confirmed), ct);
            var said = outcome switch
            {
                AddOutcome.Added => $"Added {subscriber.Email} ({subscriber.Status})",
                AddOutcome.Activated => $"Activated {subscriber.Email} ({subscriber.Status})",
                _ => $"{subscriber.Email} is already present ({subscriber.Status})",
            };
            var confirmation = await SendConfirmationAsync(cli, email!, subscriber, ct);
            await cli.Output.WriteLineAsync(confirmation.Sent ? $"{said}; confirmation mail sent" : confirmation.Note is { } note ? $"{said}; {note}" : said);
            if (confirmation.Failure is { } failure)
            {
                await cli.Error.WriteLineAsync($"The confirmation mail to {subscriber.Email} was not sent: {failure}. The address stays pending; run the command again to retry.");
                return 1;
            }
            return 0;
        });
        return command;
    }

    private sealed record Confirmation(bool Sent, string? Note, string? Failure);

    /// <summary>
    /// A pending address gets the same double opt-in mail as one that subscribed on the web;
    /// without it, it would sit pending until it is purged. A pending address gets it again no
    /// more often than Subscriptions:ConfirmationResendInterval, for <c>add</c> as for <c>import</c>
    /// and the web form, so adding or importing an address twice mails nobody twice.
    /// </summary>
    private static async Task<Confirmation> SendConfirmationAsync(NewsletterCli cli, EmailAddress email, Subscriber subscriber, CancellationToken ct)
    {
        if (subscriber.Status != SubscriberStatus.Pending)
            return new Confirmation(false, null, null);
        var interval = cli.Get<Microsoft.Extensions.Options.IOptions<SubscriptionOptions>>().Value.ConfirmationResendInterval;
        var store = cli.Get<SubscriberStore>();
        var (id, send) = await store.RequestSubscriptionAsync(email, subscriber.Topics, interval, ct);
        if (!send)
            return new Confirmation(false, await store.ConfirmationSentAtAsync(id, ct) is { } sent
                ? $"confirmation mail already sent at {sent:yyyy-MM-dd HH:mm:ss} UTC; not sent again before {sent + interval:yyyy-MM-dd HH:mm:ss} UTC (Subscriptions:ConfirmationResendInterval)"
                : $"a confirmation mail was sent less than {interval} ago (Subscriptions:ConfirmationResendInterval)", null);
        try
        {
            await cli.Get<ConfirmationMailer>().SendAsync(id, ct);
            return new Confirmation(true, null, null);
        }
        catch (Exception exception) when (exception is Delivery.DeliveryException or Rendering.TemplateUnavailableException or Scriban.Syntax.ScriptRuntimeException or IOException)
        {
            // Nothing went out: running the command again must send it, not wait out the interval.
            await store.ForgetConfirmationSentAsync(id, CancellationToken.None);
            return new Confirmation(false, null, exception.Message);
        }
    }

    private static Command List(NewsletterCli cli)
    {
        var command = new Command("list", "One line per subscriber: address, status, and why if suspended.");
        command.SetAction(async (_, ct) =>
        {
            if (!await cli.PrepareAsync(ct)) return 2;
            // Read everything before printing: a database failing half-way prints one sentence, not half a list.
            var lines = new List<string>();
            await foreach (var subscriber in cli.Get<SubscriberStore>().ListAsync(ct))
            {
                var reason = subscriber.StatusReason is null ? "" : $"\t{subscriber.StatusReason}";
                // A paused reader is active (confirmed, still subscribed) but gets no digest: say so.
                var status = subscriber.Status == SubscriberStatus.Active && subscriber.IsPaused ? "paused" : subscriber.Status;
                lines.Add($"{subscriber.Email}\t{status}{reason}");
            }
            foreach (var line in lines)
                await cli.Output.WriteLineAsync(line);
            await cli.Error.WriteLineAsync($"{lines.Count} subscriber(s)");
            return 0;
        });
        return command;
    }

    private static Command Remove(NewsletterCli cli)
    {
        var address = new Argument<string>("address") { Description = "Email address." };
        var command = new Command("remove", "Delete a subscriber and their delivery history.") { address };
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot remove '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            if (!await cli.PrepareAsync(ct)) return 2;
            if (!await cli.Get<SubscriberStore>().RemoveAsync(email!, ct))
            {
                await cli.Error.WriteLineAsync($"{email!.Address} is not a subscriber.");
                return 1;
            }
            await cli.Output.WriteLineAsync($"Removed {email!.Address}");
            return 0;
        });
        return command;
    }

    private static Command Import(NewsletterCli cli)
    {
        var file = new Argument<FileInfo>("file") { Description = "CSV with a header row and an 'email' column." };
        var confirmed = new Option<bool>("--confirmed") { Description = "Mark imported addresses active (you vouch for their consent); without it each new address gets the confirmation mail." };
        var command = new Command("import", "Import subscribers from a CSV file: pending, each sent the confirmation mail, unless --confirmed.") { file, confirmed };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                await cli.Error.WriteLineAsync($"File not found: {path.FullName}");
                return 1;
            }
            using var reader = new StreamReader(path.FullName);
            using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture)
            {
                PrepareHeaderForMatch = header => header.Header.Trim().ToLowerInvariant(),
                MissingFieldFound = null,
                BadDataFound = null,
            });
            if (!await csv.ReadAsync() || !csv.ReadHeader() || !csv.HeaderRecord!.Any(h => h.Trim().Equals("email", StringComparison.OrdinalIgnoreCase)))
            {
                await cli.Error.WriteLineAsync($"{path.Name}: the header row has no 'email' column.");
                return 1;
            }
            if (!await cli.PrepareAsync(ct)) return 2;
            var store = cli.Get<SubscriberStore>();
            int added = 0, activated = 0, present = 0, invalid = 0, mailed = 0, unsent = 0;
            while (await csv.ReadAsync())
            {
                var value = csv.GetField("email") ?? "";
                if (value.Trim().Length == 0 && csv.Parser.Record?.All(string.IsNullOrWhiteSpace) == true) continue;
                if (!EmailAddress.TryParse(value, out var email, out var problem))
                {
                    invalid++;
                    await cli.Error.WriteLineAsync($"{path.Name}:{csv.Parser.RawRow}: skipped '{value}': {problem}");
                    continue;
                }
                var (outcome, subscriber) = await store.AddAsync(email!, parse.GetValue(confirmed), ct);
                _ = outcome switch { AddOutcome.Added => added++, AddOutcome.Activated => activated++, _ => present++ };
                var confirmation = await SendConfirmationAsync(cli, email!, subscriber, ct);
                if (confirmation.Sent) mailed++;
                if (confirmation.Failure is { } failure)
                {
                    unsent++;
                    await cli.Error.WriteLineAsync($"{path.Name}:{csv.Parser.RawRow}: the confirmation mail to {subscriber.Email} was not sent: {failure}");
                }
            }
            var mails = parse.GetValue(confirmed) ? "" : $"; {mailed} confirmation mails sent" + (unsent > 0 ? $", {unsent} not sent (those addresses stay pending; 'subscribers add ADDRESS' sends again)" : "");
            await cli.Output.WriteLineAsync($"Imported {path.Name}: {added} added, {activated} activated, {present} already present, {invalid} invalid rows skipped{mails}");
            return unsent > 0 ? 1 : 0;
        });
        return command;
    }

    private static Command Export(NewsletterCli cli)
    {
        var command = new Command("export", "Write all subscribers as CSV to standard output.");
        command.SetAction(async (_, ct) =>
        {
            if (!await cli.PrepareAsync(ct)) return 2;
            // Read everything first (as list does): a failing database must not leave half a file.
            var subscribers = new List<Subscriber>();
            await foreach (var s in cli.Get<SubscriberStore>().ListAsync(ct))
                subscribers.Add(s);
            await using var csv = new CsvWriter(cli.Output, new CsvConfiguration(CultureInfo.InvariantCulture)
            {
                // A field such as =cmd|'/c calc'!A1 runs as a formula when the export is opened in
                // a spreadsheet: CsvHelper prefixes such fields (=, +, -, @, tab, CR) with a quote.
                InjectionOptions = InjectionOptions.Escape,
            }, leaveOpen: true);
            foreach (var header in new[] { "email", "status", "topics", "created_at", "confirmed_at", "status_reason" })
                csv.WriteField(header);
            await csv.NextRecordAsync();
            foreach (var s in subscribers)
            {
                foreach (var field in new[] { s.Email, s.Status, s.Topics, Iso(s.CreatedAt), s.ConfirmedAt is { } c ? Iso(c) : "", s.StatusReason ?? "" })
                    csv.WriteField(field);
                await csv.NextRecordAsync();
            }
            return 0;
        });
        return command;
    }

    private static string Iso(long value) => DbTime.FromDb(value).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
