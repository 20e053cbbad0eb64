using System.CommandLine;
using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Newsletter.Model;
using Newsletter.Orchestration;
using Newsletter.Storage;
using Newsletter.Subscriptions;

namespace Newsletter.Cli;

/// <summary><c>subscribers add | set | list | pause | resume | show | remove | import | export</c>.</summary>
internal static class SubscriberCommands
{
    /// <summary>The PREFERENCES options of the contract; text forms as in <see cref="PreferenceInput"/>.</summary>
    private sealed class PreferenceOptions
    {
        private readonly (string Field, Option<string?> Option)[] _options =
        [
            ("topics", new Option<string?>("--topics") { Description = "arXiv categories or source names, e.g. cs.LG,cs.CV ('' clears)." }),
            ("keywords", new Option<string?>("--keywords") { Description = "Words or \"quoted phrases\" in title or abstract, e.g. 'diffusion,\"large language\"'." }),
            ("exclude", new Option<string?>("--exclude") { Description = "Words or phrases that keep a paper out, e.g. survey,benchmark." }),
            ("authors", new Option<string?>("--authors") { Description = "Followed authors, e.g. 'Ada Lovelace,Alan Turing'." }),
            ("minScore", new Option<string?>("--min-score") { Description = "Minimum score (Hugging Face upvotes)." }),
            ("timeZone", new Option<string?>("--time-zone") { Description = "IANA time zone, e.g. Asia/Tokyo (default: Schedule:TimeZone)." }),
            ("sendHour", new Option<string?>("--send-hour") { Description = "Local hour 0-23 (default: the hour of Schedule:Digest)." }),
            ("weekdays", new Option<string?>("--weekdays") { Description = "Mon-Fri, Mon,Wed,Fri or all (default: all)." }),
            ("cadence", new Option<string?>("--cadence") { Description = "daily or weekly (the top papers of the week)." }),
            ("weeklyDay", new Option<string?>("--weekly-day") { Description = "Day of the weekly digest, e.g. Sun (default: Sun)." }),
            ("ranking", new Option<string?>("--ranking") { Description = "auto (learned once the reader has a vote or a seed), learned or score." }),
            ("minRelevance", new Option<string?>("--min-relevance") { Description = "Learned ranking only: leave out papers less relevant than this (0-1, e.g. 0.3)." }),
        ];

        public void AddTo(Command command)
        {
            foreach (var (_, option) in _options)
                command.Options.Add(option);
        }

        public PreferenceInput Read(ParseResult parse)
        {
            var values = _options.ToDictionary(o => o.Field, o => parse.GetResult(o.Option) is null ? null : parse.GetValue(o.Option) ?? "");
            return PreferenceInput.FromText(field => values[field]);
        }

        public string OptionName(string field) => _options.First(o => o.Field == field).Option.Name;
    }

    /// <summary>
    /// Checks the input against <paramref name="current"/> (topics against the configured sources);
    /// says what is wrong, one line per option (<c>--time-zone: 'Mars/Olympus' is not ...</c>).
    /// </summary>
    private static async Task<bool> ValidAsync(NewsletterCli cli, PreferenceOptions options, PreferenceInput input, Preferences current, TopicCatalog topics)
    {
        if (PreferenceParser.TryApply(current, input, topics, out _, out var problems))
            return true;
        foreach (var (field, problem) in problems)
            await cli.Error.WriteLineAsync($"{options.OptionName(field)}: {problem}");
        return false;
    }

    public static Command Create(NewsletterCli cli)
    {
        var command = new Command("subscribers", "Subscriber administration.");
        command.Subcommands.Add(Add(cli));
        command.Subcommands.Add(Set(cli));
        command.Subcommands.Add(List(cli));
        command.Subcommands.Add(PauseOrResume(cli, pause: true));
        command.Subcommands.Add(PauseOrResume(cli, pause: false));
        command.Subcommands.Add(Show(cli));
        command.Subcommands.Add(Remove(cli));
        command.Subcommands.Add(Feedback(cli));
        command.Subcommands.Add(Import(cli));
        command.Subcommands.Add(Export(cli));
        return command;
    }

    private static Command Add(NewsletterCli cli)
    {
        var address = new Argument<string>("address") { Description = "Email address." };
        var confirmed = new Option<bool>("--confirmed") { Description = "Mark active at once (you vouch for their consent); without it the address gets the confirmation mail." };
        var force = new Option<bool>("--force") { Description = "Re-add an address on the suppression list (it bounced hard, complained or was erased) and take it off the list." };
        var preferences = new PreferenceOptions();
        var command = new Command("add", "Add a subscriber, optionally with preferences: pending, with a confirmation mail sent now, unless --confirmed.") { address, confirmed, force };
        preferences.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot add '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            var input = preferences.Read(parse);
            // Only a pending address gets mail (the confirmation): with --confirmed no template is needed.
            if (!await cli.PrepareAsync(ct, rendersTemplates: !parse.GetValue(confirmed))) return 2;
            var store = cli.Get<SubscriberStore>();
            // Every option at once, topics against the configured sources too, before anything is stored.
            if (!input.IsEmpty && !await ValidAsync(cli, preferences, input, (await store.FindAsync(email!, ct))?.Preferences ?? Preferences.None, cli.Get<TopicCatalog>()))
                return 1;
            var suppressions = cli.Get<SuppressionList>();
            string lifted = "";
            if (await suppressions.FindAsync(email!, ct) is { } suppression)
            {
                if (!parse.GetValue(force))
                {
                    await cli.Error.WriteLineAsync(Suppressed(email!, suppression));
                    return 1;
                }
                await suppressions.LiftAsync(email!, "the operator (subscribers add --force)", ct);
                lifted = $"; off the suppression list (was: {suppression.Describe()})";
                // Re-added without --confirmed: they confirm again, as anyone new does.
                if (!parse.GetValue(confirmed))
                    await store.ReopenAsync(email!, ct);
            }
            var (outcome, subscriber) = await store.AddAsync(email!, parse.GetValue(confirmed), input, ct);
            var said = outcome switch
            {
                AddOutcome.Added => $"Added {subscriber.Email} ({subscriber.Status})",
                AddOutcome.Activated => $"Activated {subscriber.Email} ({subscriber.Status})",
                _ => $"{subscriber.Email} is already present ({subscriber.Status})",
            } + lifted;
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

    private static Command Set(NewsletterCli cli)
    {
        var address = new Argument<string>("address") { Description = "Email address." };
        var preferences = new PreferenceOptions();
        var command = new Command("set", "Change a subscriber's preferences; options left out stay as they are, '' resets one.") { address };
        preferences.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot set '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            var input = preferences.Read(parse);
            if (input.IsEmpty)
            {
                await cli.Error.WriteLineAsync("Nothing to set: give at least one of --topics, --keywords, --exclude, --authors, --min-score, --time-zone, --send-hour, --weekdays, --cadence, --weekly-day, --ranking, --min-relevance.");
                return 1;
            }
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
            var store = cli.Get<SubscriberStore>();
            if (await store.FindAsync(email!, ct) is not { } subscriber)
            {
                await cli.Error.WriteLineAsync($"{email!.Address} is not a subscriber.");
                return 1;
            }
            if (!await ValidAsync(cli, preferences, input, subscriber.Preferences, cli.Get<TopicCatalog>()))
                return 1;
            PreferenceParser.TryApply(subscriber.Preferences, input, out var updated, out _);
            await store.SavePreferencesAsync(subscriber.Id, null, updated, ct);
            await cli.Output.WriteLineAsync($"Preferences of {subscriber.Email}: {Describe(updated)}");
            return 0;
        });
        return command;
    }

    /// <summary>The one line that refuses a suppressed address, with the reason, its date and the way out.</summary>
    internal static string Suppressed(EmailAddress email, Suppression suppression) =>
        $"Not added: {email.Address} is on the suppression list ({suppression.Describe()}); 'subscribers add {email.Address} --force' re-adds it.";

    /// <summary>One line an operator can read back.</summary>
    internal static string Describe(Preferences p)
    {
        var parts = new List<string>();
        if (p.Topics.Count > 0) parts.Add("topics " + string.Join(",", p.Topics));
        if (p.Keywords.Count > 0) parts.Add("keywords " + PreferenceParser.JoinList(p.Keywords, quotePhrases: true));
        if (p.Exclude.Count > 0) parts.Add("exclude " + PreferenceParser.JoinList(p.Exclude, quotePhrases: true));
        if (p.Authors.Count > 0) parts.Add("authors " + PreferenceParser.JoinList(p.Authors));
        if (p.MinScore is { } score) parts.Add($"min score {score}");
        parts.Add(p.Cadence == Cadence.Weekly ? $"weekly on {Weekdays.Name(p.EffectiveWeeklyDay)}" : "daily" + (p.Days is { } days ? $" on {days}" : ""));
        if (p.SendHour is { } hour) parts.Add($"at {hour:00}:00");
        if (p.TimeZone is { } zone) parts.Add(zone);
        if (p.Ranking != RankingMode.Auto) parts.Add($"ranking {p.Ranking.ToString().ToLowerInvariant()}");
        if (p.MinRelevance is { } relevance) parts.Add($"min relevance {relevance.ToString(CultureInfo.InvariantCulture)}");
        return string.Join("; ", parts);
    }

    private sealed record Confirmation(bool Sent, string? Note, string? Failure);

    /// <summary>The confirmation mail of a pending address, under the rules every front shares (<see cref="ReaderActions.SendConfirmationAsync"/>).</summary>
    private static async Task<Confirmation> SendConfirmationAsync(NewsletterCli cli, EmailAddress email, Subscriber subscriber, CancellationToken ct)
    {
        if (subscriber.Status != SubscriberStatus.Pending)
            return new Confirmation(false, null, null);
        var result = await cli.Get<ReaderActions>().SendConfirmationAsync(email, subscriber, ct);
        return result.Status switch
        {
            ReaderActionStatus.Done => new Confirmation(true, null, null),
            ReaderActionStatus.Failed => new Confirmation(false, null, result.Sentence),
            _ => new Confirmation(false, result.Sentence, null),
        };
    }

    private static Command List(NewsletterCli cli)
    {
        var command = new Command("list", "One line per subscriber: address, status, and why if suspended.");
        command.SetAction(async (_, ct) =>
        {
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
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

    /// <summary><c>pause ADDRESS</c> / <c>resume ADDRESS</c>, under the rules of <see cref="ReaderActions.PauseAsync"/>.</summary>
    private static Command PauseOrResume(NewsletterCli cli, bool pause)
    {
        var verb = pause ? "pause" : "resume";
        var address = new Argument<string>("address") { Description = "Email address." };
        var command = new Command(verb, pause ? "Pause a reader's digests until 'subscribers resume'." : "Resume a paused reader's digests.") { address };
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot {verb} '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
            if (await cli.Get<SubscriberStore>().FindAsync(email!, ct) is not { } subscriber)
            {
                await cli.Error.WriteLineAsync($"{email!.Address} is not a subscriber.");
                return 1;
            }
            var result = await cli.Get<ReaderActions>().PauseAsync(subscriber, pause, ct);
            await (result.Succeeded ? cli.Output : cli.Error).WriteLineAsync(result.Sentence);
            return result.Succeeded ? 0 : 1;
        });
        return command;
    }

    /// <summary>
    /// <c>show ADDRESS</c>: one reader as the console's reader page shows them (the same
    /// <see cref="SubscriberReport"/>): status and why, preferences, cursor, their newest digests with
    /// the ledger's word on each, and the days they got nothing, with the reason.
    /// </summary>
    private static Command Show(NewsletterCli cli)
    {
        var address = new Argument<string>("address") { Description = "Email address." };
        var command = new Command("show", "Show one reader: status and its reason, preferences, cursor, recent digests and skips with their reasons.") { address };
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot show '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
            if (await cli.Get<SubscriberReport>().ReaderAsync(email!, ShowLimit, ct) is not { } reader)
            {
                // An erased reader is gone, but the suppression list still knows the address.
                var suppression = await cli.Get<SuppressionList>().FindAsync(email!, ct);
                await cli.Error.WriteLineAsync($"{email!.Address} is not a subscriber" + (suppression is null ? "." : $"; it is on the suppression list ({suppression.Describe()}); 'subscribers add {email.Address} --force' re-adds it."));
                return 1;
            }
            foreach (var line in ShowLines(reader))
                await cli.Output.WriteLineAsync(line);
            return 0;
        });
        return command;
    }

    /// <summary>How many digests and skips <c>show</c> lists (the newest).</summary>
    internal const int ShowLimit = 20;

    internal static IEnumerable<string> ShowLines(ReaderReport reader)
    {
        var suppression = reader.Suppression;
        var s = reader.Subscriber;
        yield return s.Email;
        yield return $"  status       {reader.StatusWord}" + (reader.StatusReason.Length > 0 ? $" ({reader.StatusReason})" : "");
        if (suppression is not null)
            yield return $"  suppressed   {suppression.Describe()}; 'subscribers add {s.Email} --force' re-adds it";
        yield return $"  joined       {Time(DbTime.FromDb(s.CreatedAt))}" + (s.ConfirmedAt is { } confirmed ? $"; confirmed {Time(DbTime.FromDb(confirmed))}" : "")
            + (reader.UnsubscribedAt is { } left ? $"; unsubscribed {Time(left)}" : "")
            + (reader.ConfirmationSentAt is { } mailed && s.Status == SubscriberStatus.Pending ? $"; confirmation mail sent {Time(mailed)}" : "");
        yield return $"  preferences  {Describe(s.Preferences)}";
        yield return $"  cursor       papers collected after {Time(reader.ServedUntil)}" + (reader.LastDigestId is { } digest ? $"; last digest #{digest}" : "; no digest yet");
        if (reader.HardBounces > 0)
            yield return $"  bounces      {reader.HardBounces}";
        yield return reader.Deliveries.Count == 0 ? "  digests      none" : $"  digests      (newest {reader.Deliveries.Count})";
        foreach (var d in reader.Deliveries)
            yield return $"    {d.Date}  {Digest(d)}  {Outcome(d)}  {d.MessageId}";
        yield return reader.Skips.Count == 0 ? "  skipped      never" : $"  skipped      (newest {reader.Skips.Count})";
        foreach (var skip in reader.Skips)
            yield return $"    {skip.Date}  {skip.Reason}";
    }

    private static string Digest(ReaderDelivery d) =>
        (d.DigestId is { } id ? $"digest #{id}" : "issue") + (d.Cadence == "weekly" ? " weekly" : "") + $" ({d.Papers} {(d.Papers == 1 ? "paper" : "papers")})";

    /// <summary>The ledger's word on one delivery, with its time and its last error.</summary>
    internal static string Outcome(ReaderDelivery d) => d.Status switch
    {
        Delivery.DeliveryStatus.Sent => $"sent {Time(d.SentAt!.Value)}" + (d.Attempts > 1 ? $" (attempt {d.Attempts})" : ""),
        Delivery.DeliveryStatus.Pending when d.Attempts > 0 => $"deferred after {d.Attempts} attempt(s), next {Time(d.NextAttemptAt)}: {d.LastError}",
        Delivery.DeliveryStatus.Pending => "waiting to be sent",
        Delivery.DeliveryStatus.Sending => "being sent",
        _ => d.Status + (d.LastError is { Length: > 0 } error ? $": {error}" : ""),
    };

    private static string Time(DateTimeOffset value) => value.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

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
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
            var result = await cli.Get<ReaderActions>().RemoveAsync(email!, ct);
            await (result.Succeeded ? cli.Output : cli.Error).WriteLineAsync(result.Sentence);
            return result.Succeeded ? 0 : 1;
        });
        return command;
    }

    /// <summary>
    /// <c>subscribers feedback ADDRESS --like ID,... --dislike ID,...</c>: votes as the digest's links record them.
    /// Every paper is found (or looked up at arXiv) before anything is stored, so a typo stores nothing.
    /// </summary>
    private static Command Feedback(NewsletterCli cli)
    {
        var address = new Argument<string>("address") { Description = "Email address." };
        var like = new Option<string?>("--like") { Description = "Papers the reader wants more of: arXiv ids or URLs, DOIs, comma-separated." };
        var dislike = new Option<string?>("--dislike") { Description = "Papers the reader wants fewer like, in the same forms." };
        var command = new Command("feedback", "Record votes for a reader's learned ranking, as the links in the mail do.") { address, like, dislike };
        command.SetAction(async (parse, ct) =>
        {
            if (!EmailAddress.TryParse(parse.GetValue(address), out var email, out var problem))
            {
                await cli.Error.WriteLineAsync($"Cannot record feedback for '{parse.GetValue(address)}': {problem}");
                return 1;
            }
            var wanted = Split(parse.GetValue(like)).Select(id => (Id: id, Vote: 1)).Concat(Split(parse.GetValue(dislike)).Select(id => (Id: id, Vote: -1))).ToList();
            if (wanted.Count == 0)
            {
                await cli.Error.WriteLineAsync("Nothing to record: give --like ID[,ID...] and/or --dislike ID[,ID...].");
                return 1;
            }
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
            if (await cli.Get<SubscriberStore>().FindAsync(email!, ct) is not { } subscriber)
            {
                await cli.Error.WriteLineAsync($"{email!.Address} is not a subscriber.");
                return 1;
            }
            var lookup = cli.Get<Newsletter.Sources.PaperLookup>();
            var found = new List<(string Id, int Vote, Newsletter.Sources.FoundPaper Paper)>();
            foreach (var (id, vote) in wanted)
                found.Add((id, vote, await lookup.FindAsync(id, ct)));
            var refused = found.Where(f => f.Paper.EntryId is null).ToList();
            foreach (var (id, vote, paper) in refused)
                await cli.Error.WriteLineAsync($"{(vote > 0 ? "--like" : "--dislike")} {id}: {paper.Problem}");
            if (refused.Count > 0)
            {
                await cli.Error.WriteLineAsync("Nothing was recorded.");
                return 1;
            }
            var votes = cli.Get<VoteStore>();
            foreach (var (_, vote, paper) in found)
            {
                var previous = await votes.RecordAsync(subscriber.Id, paper.EntryId!.Value, vote, VoteOrigin.Operator, ct);
                var change = previous is null ? "" : previous == vote ? " (unchanged)" : " (was " + (previous > 0 ? "like" : "dislike") + ")";
                await cli.Output.WriteLineAsync($"{(vote > 0 ? "Like" : "Dislike")}: \u201c{paper.Title}\u201d{change}");
            }
            await cli.Output.WriteLineAsync($"{subscriber.Email} has {await votes.CountAsync(subscriber.Id, ct)} votes; {RankingNote(subscriber.Preferences)}");
            return 0;
        });
        return command;
    }

    private static IEnumerable<string> Split(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string RankingNote(Preferences preferences) => preferences.Ranking == RankingMode.Score
        ? "their ranking is 'score', so the votes wait until it is auto or learned."
        : "their next digest is ordered by what they liked.";

    private static Command Import(NewsletterCli cli)
    {
        var file = new Argument<FileInfo>("file") { Description = "CSV with a header row and an 'email' column." };
        var confirmed = new Option<bool>("--confirmed") { Description = "Mark imported addresses active (you vouch for their consent); without it each new address gets the confirmation mail." };
        var force = new Option<bool>("--force") { Description = "Also re-add addresses on the suppression list (they bounced hard, complained or were erased) and take them off it." };
        var command = new Command("import", "Import subscribers from a CSV file: pending, each sent the confirmation mail, unless --confirmed.") { file, confirmed, force };
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
            if (!await cli.PrepareAsync(ct, rendersTemplates: !parse.GetValue(confirmed))) return 2;
            var store = cli.Get<SubscriberStore>();
            var topics = cli.Get<TopicCatalog>();
            var headers = PreferenceInput.FieldNames
                .Select(field => (field, header: csv.HeaderRecord!.FirstOrDefault(h => h.Trim().Equals(field, StringComparison.OrdinalIgnoreCase))))
                .Where(h => h.header is not null).ToDictionary(h => h.field, h => h.header!);
            var suppressions = cli.Get<SuppressionList>();
            int added = 0, activated = 0, present = 0, invalid = 0, suppressed = 0, lifted = 0, mailed = 0, unsent = 0;
            while (await csv.ReadAsync())
            {
                var value = FormulaGuard.Remove(csv.GetField("email") ?? "");
                if (value.Trim().Length == 0 && csv.Parser.Record?.All(string.IsNullOrWhiteSpace) == true) continue;
                if (!EmailAddress.TryParse(value, out var email, out var problem))
                {
                    invalid++;
                    await cli.Error.WriteLineAsync($"{path.Name}:{csv.Parser.RawRow}: skipped '{value}': {problem}");
                    continue;
                }
                // Preference columns are optional and named as the JSON fields; a bad value skips the row.
                // A file written by export carries the formula guard's quote: read the value as it was.
                var input = PreferenceInput.FromText(field => headers.TryGetValue(field, out var column) ? FormulaGuard.Remove(csv.GetField(column) ?? "") : null);
                if (!PreferenceParser.TryApply(Preferences.None, input, topics, out _, out var problems))
                {
                    invalid++;
                    await cli.Error.WriteLineAsync($"{path.Name}:{csv.Parser.RawRow}: skipped '{value}': " + string.Join(" ", problems.Select(p => $"{p.Key}: {p.Value}")));
                    continue;
                }
                if (await suppressions.FindAsync(email!, ct) is { } suppression)
                {
                    if (!parse.GetValue(force))
                    {
                        // One row refused, the rest of the file goes on.
                        suppressed++;
                        await cli.Error.WriteLineAsync($"{path.Name}:{csv.Parser.RawRow}: skipped '{value}': on the suppression list ({suppression.Describe()}); --force re-adds it");
                        continue;
                    }
                    await suppressions.LiftAsync(email!, $"the operator (subscribers import {path.Name} --force)", ct);
                    lifted++;
                    if (!parse.GetValue(confirmed))
                        await store.ReopenAsync(email!, ct);
                }
                var (outcome, subscriber) = await store.AddAsync(email!, parse.GetValue(confirmed), input.IsEmpty ? null : input, ct);
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
            var suppressedNote = (suppressed > 0 ? $", {suppressed} suppressed skipped (hard bounce, complaint or erased; --force re-adds them)" : "")
                + (lifted > 0 ? $", {lifted} taken off the suppression list (--force)" : "");
            await cli.Output.WriteLineAsync($"Imported {path.Name}: {added} added, {activated} activated, {present} already present, {invalid} invalid rows skipped{suppressedNote}{mails}");
            return unsent > 0 ? 1 : 0;
        });
        return command;
    }

    private static Command Export(NewsletterCli cli)
    {
        var command = new Command("export", "Write all subscribers as CSV to standard output.");
        command.SetAction(async (_, ct) =>
        {
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return 2;
            // Read everything first (as list does): a failing database must not leave half a file.
            var subscribers = new List<Subscriber>();
            await foreach (var s in cli.Get<SubscriberStore>().ListAsync(ct))
                subscribers.Add(s);
            // Every field through the formula guard (a spreadsheet must not run an address or keyword as a formula).
            await using var csv = new CsvWriter(cli.Output, new CsvConfiguration(CultureInfo.InvariantCulture), leaveOpen: true);
            // The preference columns read back by import (same names, same text forms).
            foreach (var header in new[] { "email", "status", "topics", "created_at", "confirmed_at", "status_reason" }.Concat(PreferenceInput.FieldNames.Skip(1)))
                csv.WriteField(header);
            await csv.NextRecordAsync();
            foreach (var s in subscribers)
            {
                var p = s.Preferences;
                foreach (var field in new[]
                {
                    s.Email, s.Status, string.Join(",", p.Topics), Iso(s.CreatedAt), s.ConfirmedAt is { } c ? Iso(c) : "", s.StatusReason ?? "",
                    PreferenceParser.JoinList(p.Keywords, quotePhrases: true), PreferenceParser.JoinList(p.Exclude, quotePhrases: true), PreferenceParser.JoinList(p.Authors),
                    p.MinScore?.ToString(CultureInfo.InvariantCulture) ?? "", p.TimeZone ?? "", p.SendHour?.ToString(CultureInfo.InvariantCulture) ?? "",
                    p.Days?.ToString() ?? "", p.Cadence == Cadence.Weekly ? "weekly" : "daily", p.WeeklyDay is { } d ? Weekdays.Name(d) : "",
                    p.Ranking.ToString().ToLowerInvariant(), p.MinRelevance?.ToString(CultureInfo.InvariantCulture) ?? "",
                })
                    csv.WriteField(FormulaGuard.Add(field));
                await csv.NextRecordAsync();
            }
            return 0;
        });
        return command;
    }

    private static string Iso(long value) => DbTime.FromDb(value).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
