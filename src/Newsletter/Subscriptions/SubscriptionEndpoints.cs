using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;
using Newsletter.Model;
using Scriban.Runtime;

namespace Newsletter.Subscriptions;

/// <summary>
/// The web front: subscribe (form or JSON), confirm, unsubscribe (page and RFC 8058 one-click),
/// preferences. A GET never changes anything (mail scanners follow links); every bad or expired
/// link gets the same neutral page and status.
/// </summary>
public static class SubscriptionEndpoints
{
    internal const string SubscribeRateLimit = "subscribe";
    internal const string LinkRateLimit = "links";
    private const string HoneypotField = "website";

    public static WebApplication MapSubscriptions(this WebApplication app)
    {
        app.UseRateLimiter();
        app.MapPageAssets();
        app.MapGet("/", (HttpContext http, PageRenderer pages, IOptions<ScheduleDefaults> defaults) => SubscribePage(http, pages, defaults.Value));
        app.MapPost("/subscribe", SubscribeAsync).RequireRateLimiting(SubscribeRateLimit).DisableAntiforgery();
        app.MapGet("/confirm", ConfirmPageAsync);
        app.MapPost("/confirm", ConfirmAsync).RequireRateLimiting(LinkRateLimit).DisableAntiforgery();
        app.MapGet("/unsubscribe", UnsubscribePageAsync);
        app.MapPost("/unsubscribe", UnsubscribeAsync).RequireRateLimiting(LinkRateLimit).DisableAntiforgery();
        app.MapGet("/preferences", PreferencesPageAsync);
        app.MapPost("/preferences", SavePreferencesAsync).RequireRateLimiting(LinkRateLimit).DisableAntiforgery();
        app.MapFeedback();
        return app;
    }

    /// <summary>The subscribe page, empty or, after a refused post, with what was typed and each refusal beside its field.</summary>
    private static IResult SubscribePage(HttpContext http, PageRenderer pages, ScheduleDefaults defaults, IFormCollection? typed = null,
        IReadOnlyDictionary<string, string>? problems = null, string notice = "", int status = StatusCodes.Status200OK)
    {
        var model = new ScriptObject
        {
            ["email"] = typed?["email"].ToString() ?? "",
            ["default_time_zone"] = defaults.TimeZone,
        };
        PageForms.AddPreferences(model, Preferences.None, typed);
        PageForms.AddErrors(model, problems, notice);
        return pages.Render(http, "subscribe", "Subscribe", model, status, hasForm: true);
    }

    /// <summary>
    /// A refused JSON request: <c>errors</c> keyed by field with the messages the form shows beside
    /// its fields, and <c>detail</c> the same summary sentence the form shows above them.
    /// </summary>
    private static IResult Problems(IReadOnlyDictionary<string, string> problems, string title) =>
        TypedResults.ValidationProblem(problems.ToDictionary(p => p.Key, p => new[] { p.Value }), detail: PageForms.Summary(problems), title: title);

    private static IResult InvalidLink(HttpContext http, PageRenderer pages) =>
        pages.Render(http, "invalid-link", "Link invalid or expired", statusCode: StatusCodes.Status400BadRequest);

    /// <summary>
    /// The answer is the same (status, body, and roughly time: mail goes out in the background)
    /// whether the address is new, pending, active or unsubscribed.
    /// </summary>
    private static async Task<IResult> SubscribeAsync(HttpContext http, PageRenderer pages, SubscriberStore subscribers,
        ConfirmationMailer mailer, IAntiforgery antiforgery, IOptions<SubscriptionOptions> options, IOptions<ScheduleDefaults> defaults,
        AddressLimiter addressLimiter, TopicCatalog topics, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var json = http.Request.HasJsonContentType();
        string? email, honeypot = null;
        PreferenceInput input;
        IFormCollection? form = null;
        if (json)
        {
            SubscribeRequest? body;
            try { body = await http.Request.ReadFromJsonAsync<SubscribeRequest>(cancellationToken); }
            catch (JsonException) { body = null; }
            if (body is null)
                return TypedResults.Problem("The body must be JSON like {\"email\": \"you@example.org\", \"topics\": [\"cs.LG\"]}.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
            (email, input) = (body.Email, body.ToInput());
        }
        else if (http.Request.HasFormContentType)
        {
            form = await PreferenceFormReader.ReadAsync(http, cancellationToken);
            if (!await antiforgery.IsRequestValidAsync(http))
                return SubscribePage(http, pages, defaults.Value, form, notice: "Your session expired. Please try again.", status: StatusCodes.Status400BadRequest);
            (email, honeypot, input) = (form["email"].ToString(), form[HoneypotField].ToString(), FormInput(form));
        }
        else
        {
            return TypedResults.Problem("Send a form or JSON.", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }

        // Every refused field at once, the address's and the preferences', so one correction is enough.
        var problems = new Dictionary<string, string>();
        if (!EmailAddress.TryParse(email, out var address, out var problem, options.Value.AllowUnicodeLocalPart))
            problems["email"] = problem;
        if (!PreferenceParser.TryApply(Preferences.None, input, topics, out var preferences, out var preferenceProblems))
            foreach (var (field, message) in preferenceProblems)
                problems[field] = message;
        if (problems.Count > 0)
            return json
                ? Problems(problems, problems.ContainsKey("email") ? "Invalid email address" : "Invalid preferences")
                : SubscribePage(http, pages, defaults.Value, form, problems, status: StatusCodes.Status400BadRequest);

        var logger = loggers.CreateLogger(typeof(SubscriptionEndpoints));
        var started = time.GetTimestamp();
        // A filled honeypot is a bot, and one mailbox asked for too often is a victim of
        // subscription bombing: answer as usual (the answer never tells), store and send nothing.
        if (!addressLimiter.TryAcquire(address!.Key))
        {
            logger.LogInformation("Rate limit: subscribe requests for one address (from {Client}) over Subscriptions:AddressRateLimitPermits; ignored", ClientNetwork.Of(http));
        }
        else if (string.IsNullOrEmpty(honeypot))
        {
            var request = await subscribers.RequestSubscriptionAsync(address!, preferences, options.Value.ConfirmationResendInterval, cancellationToken);
            if (request.SendConfirmation)
                mailer.Enqueue(request.Id);
            else if (request.Suppressed is { } suppressed)
                // Not the address: for an erased reader it is exactly what must not be kept.
                logger.LogInformation("Subscribe request (from {Client}) for an address on the suppression list ({Reason} on {Date:yyyy-MM-dd}): no confirmation mail sent; only 'subscribers add ADDRESS --force' re-adds it",
                    ClientNetwork.Of(http), suppressed.Reason, suppressed.At);
        }
        else
        {
            logger.LogInformation("Honeypot filled in a subscribe request; ignored");
        }
        // New and known addresses differ in work (an insert and three index updates, or one row
        // update): answering no sooner than Subscriptions:MinimumSubscribeTime hides which it was.
        if (options.Value.MinimumSubscribeTime - time.GetElapsedTime(started) is { Ticks: > 0 } rest)
            await Task.Delay(rest, time, cancellationToken);
        return json
            ? TypedResults.Json(new { status = "pending", message = "If this address can subscribe, a confirmation link is on its way." }, statusCode: StatusCodes.Status202Accepted)
            : pages.Render(http, "check-inbox", "Check your inbox");
    }

    private static async Task<IResult> ConfirmPageAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TokenPurpose.Confirm, out var id, out var episode) || await subscribers.FindAsync(id, cancellationToken) is not { } subscriber
            || !(subscriber.PendingSince == episode || (subscriber.Status == SubscriberStatus.Active && subscriber.ConfirmedAt >= episode)))
            return InvalidLink(http, pages);
        return pages.Render(http, "confirm", "Confirm your subscription",
            new ScriptObject { ["token"] = token, ["email"] = subscriber.Email, ["notice"] = "" }, hasForm: true);
    }

    /// <summary>
    /// The form's antiforgery check failed although its link is good: the form was served before
    /// the keys changed, or the browser dropped the cookie. Say so and offer the form again,
    /// rather than calling a good link invalid.
    /// </summary>
    private const string FormExpired = "This form had expired or your browser did not send its cookie; please press the button again.";

    private static async Task<IResult> ConfirmAsync(HttpContext http, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, IAntiforgery antiforgery,
        MailLinks links, CancellationToken cancellationToken)
    {
        if (!http.Request.HasFormContentType)
            return InvalidLink(http, pages);
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            string? link = (await http.Request.ReadFormAsync(cancellationToken))["token"];
            if (!tokens.TryRead(link, TokenPurpose.Confirm, out var pendingId) || await subscribers.FindAsync(pendingId, cancellationToken) is not { } pending)
                return InvalidLink(http, pages);
            return pages.Render(http, "confirm", "Confirm your subscription",
                new ScriptObject { ["token"] = link, ["email"] = pending.Email, ["notice"] = FormExpired }, StatusCodes.Status400BadRequest, hasForm: true);
        }
        var form = await http.Request.ReadFormAsync(cancellationToken);
        if (!tokens.TryRead(form["token"], TokenPurpose.Confirm, out var id, out var episode) || !await subscribers.ConfirmAsync(id, episode, cancellationToken)
            || await subscribers.FindAsync(id, cancellationToken) is not { } confirmed)
            return InvalidLink(http, pages);
        // The reader's own signed preferences link, as every digest carries it: topics, days and hour are one click away.
        return pages.Render(http, "confirmed", "Subscription confirmed",
            new ScriptObject { ["email"] = confirmed.Email, ["preferences_url"] = links.Preferences(id) });
    }

    private static async Task<IResult> UnsubscribePageAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TokenPurpose.Unsubscribe, out var id))
            return InvalidLink(http, pages);
        // A genuine link of a reader already removed: they are as unsubscribed as can be, so say so.
        if (await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return pages.Render(http, "unsubscribed", "Unsubscribed");
        return pages.Render(http, "unsubscribe", "Unsubscribe", new ScriptObject { ["token"] = token, ["email"] = subscriber.Email });
    }

    /// <summary>
    /// RFC 8058 one-click: the mail client POSTs <c>List-Unsubscribe=One-Click</c> (urlencoded or
    /// multipart) without cookies, so the signed token alone authorises it: no antiforgery, a plain
    /// 200 without redirect, idempotent. The page's own button posts here too. A genuine link of a
    /// reader already removed (<c>subscribers remove</c>) is a success too: that address gets nothing
    /// more, and a mailbox provider must not read "already gone" as a failed unsubscribe.
    /// </summary>
    private static async Task<IResult> UnsubscribeAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, CancellationToken cancellationToken)
    {
        // The form is read even when the query has the token: an oversized body then gets its 413.
        if (http.Request.HasFormContentType && (await http.Request.ReadFormAsync(cancellationToken))["token"] is { Count: > 0 } posted)
            token ??= posted;
        if (!tokens.TryRead(token, TokenPurpose.Unsubscribe, out var id))
            return InvalidLink(http, pages);
        await subscribers.UnsubscribeAsync(id, cancellationToken);
        return pages.Render(http, "unsubscribed", "Unsubscribed");
    }

    private static async Task<IResult> PreferencesPageAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages,
        IOptions<ScheduleDefaults> defaults, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TokenPurpose.Preferences, out var id) || await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return InvalidLink(http, pages);
        return PreferencesPage(http, pages, token!, subscriber, defaults.Value, saved: false);
    }

    /// <summary>
    /// The form of the preferences page (antiforgery-protected), or JSON with the signed token in
    /// the query (<c>POST /preferences?token=</c>): fields left out of the JSON stay as they are.
    /// </summary>
    private static async Task<IResult> SavePreferencesAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages,
        IAntiforgery antiforgery, IOptions<ScheduleDefaults> defaults, TopicCatalog topics, Sources.PaperLookup papers, VoteStore votes, CancellationToken cancellationToken)
    {
        if (http.Request.HasJsonContentType())
            return await SaveJsonPreferencesAsync(http, token, tokens, subscribers, topics, cancellationToken);
        if (!http.Request.HasFormContentType)
            return InvalidLink(http, pages);
        var form = await PreferenceFormReader.ReadAsync(http, cancellationToken);
        token = form["token"].ToString();
        if (!tokens.TryRead(token, TokenPurpose.Preferences, out var id))
            return InvalidLink(http, pages);
        if (!await antiforgery.IsRequestValidAsync(http))
            return await subscribers.FindAsync(id, cancellationToken) is { } reader
                ? PreferencesPage(http, pages, token, reader, defaults.Value, saved: false, typed: form, notice: FormExpired, statusCode: StatusCodes.Status400BadRequest)
                : InvalidLink(http, pages);
        if (form["resubscribe"] == "1")
        {
            await subscribers.ResubscribeAsync(id, cancellationToken);
            return await subscribers.FindAsync(id, cancellationToken) is { } resumed
                ? PreferencesPage(http, pages, token, resumed, defaults.Value, saved: true)
                : InvalidLink(http, pages);
        }
        if (await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return InvalidLink(http, pages);
        var input = FormInput(form);
        // The page's day checkboxes: none ticked is a choice (and a mistake), not "unchanged".
        if (form["weekdays"].Count == 0 && form.ContainsKey("cadence"))
            input = input with { Weekdays = ["none"] };
        // One refused field saves nothing, and the page comes back as the reader left it, not as stored.
        if (!PreferenceParser.TryApply(subscriber.Preferences, input, topics, out var preferences, out var problems))
            return PreferencesPage(http, pages, token, subscriber, defaults.Value, saved: false, typed: form, problems: problems, statusCode: StatusCodes.Status400BadRequest);
        // Seed papers: every line must name a paper (found here or at arXiv) before anything is saved.
        var seeds = new List<long>();
        foreach (var line in form["likes"].ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(Preferences.MaxItems))
        {
            var found = await papers.FindAsync(line, cancellationToken);
            if (found.EntryId is not { } entryId)
                return PreferencesPage(http, pages, token, subscriber, defaults.Value, saved: false, typed: form,
                    problems: new Dictionary<string, string> { ["likes"] = found.Problem ?? "not found." }, statusCode: StatusCodes.Status400BadRequest);
            seeds.Add(entryId);
        }
        foreach (var entryId in seeds)
            await votes.RecordAsync(id, entryId, 1, VoteOrigin.Seed, cancellationToken);
        if (!await subscribers.SavePreferencesAsync(id, form["paused"] == "on", preferences, cancellationToken)
            || await subscribers.FindAsync(id, cancellationToken) is not { } saved)
            return InvalidLink(http, pages);
        return PreferencesPage(http, pages, token, saved, defaults.Value, saved: true);
    }

    private static async Task<IResult> SaveJsonPreferencesAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, TopicCatalog topics, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TokenPurpose.Preferences, out var id) || await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return TypedResults.Problem("The link is invalid or expired.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid link");
        PreferencesRequest? body;
        try { body = await http.Request.ReadFromJsonAsync<PreferencesRequest>(cancellationToken); }
        catch (JsonException) { body = null; }
        if (body is null)
            return TypedResults.Problem("The body must be JSON like {\"topics\": [\"cs.LG\"], \"sendHour\": 8}.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
        if (!PreferenceParser.TryApply(subscriber.Preferences, body.ToInput(), topics, out var preferences, out var problems))
            return Problems(problems, "Invalid preferences");
        await subscribers.SavePreferencesAsync(id, body.Paused, preferences, cancellationToken);
        var saved = (await subscribers.FindAsync(id, cancellationToken))!;
        return TypedResults.Json(PreferencesJson(saved));
    }

    /// <summary>The preferences as JSON, in the contract's field names.</summary>
    internal static object PreferencesJson(Subscriber subscriber)
    {
        var p = subscriber.Preferences;
        return new
        {
            email = subscriber.Email,
            status = subscriber.Status,
            paused = subscriber.IsPaused,
            topics = p.Topics,
            keywords = p.Keywords,
            exclude = p.Exclude,
            authors = p.Authors,
            minScore = p.MinScore,
            timeZone = p.TimeZone,
            sendHour = p.SendHour,
            weekdays = (p.Days ?? new Weekdays(Weekdays.All)).DayNames().ToArray(),
            cadence = p.Cadence == Cadence.Weekly ? "weekly" : "daily",
            weeklyDay = Weekdays.Name(p.EffectiveWeeklyDay),
            ranking = p.Ranking.ToString().ToLowerInvariant(),
            minRelevance = p.MinRelevance,
        };
    }

    /// <summary>Form fields named as the JSON ones; weekdays as several checkboxes.</summary>
    private static PreferenceInput FormInput(IFormCollection form) => PreferenceInput.FromText(name => name == "weekdays"
        ? (form.ContainsKey(name) ? string.Join(',', form[name].Select(v => v ?? "")) : null)
        : form.TryGetValue(name, out var value) ? value.ToString() : null);

    /// <summary>
    /// The preferences page: the stored values, or the ones <paramref name="typed"/> in a refused post
    /// (with <paramref name="problems"/> marked beside their fields).
    /// </summary>
    private static IResult PreferencesPage(HttpContext http, PageRenderer pages, string token, Subscriber subscriber, ScheduleDefaults defaults,
        bool saved, IFormCollection? typed = null, IReadOnlyDictionary<string, string>? problems = null, string notice = "", int statusCode = StatusCodes.Status200OK)
    {
        var model = new ScriptObject
        {
            ["notice"] = notice,
            ["status_text"] = StatusSentence(subscriber),
            ["can_resubscribe"] = subscriber.Status == SubscriberStatus.Unsubscribed,
            ["token"] = token,
            ["email"] = subscriber.Email,
            ["status"] = subscriber.Status,
            ["paused"] = typed is not null && typed.ContainsKey("cadence") ? typed["paused"] == "on" : subscriber.IsPaused,
            ["default_time_zone"] = defaults.TimeZone,
            ["default_send_hour"] = defaults.SendHour,
            ["saved"] = saved,
        };
        PageForms.AddPreferences(model, subscriber.Preferences, typed);
        PageForms.AddErrors(model, problems);
        return pages.Render(http, "preferences", "Preferences", model, statusCode, hasForm: true);
    }

    /// <summary>The reader's status as a sentence of its own (the page shows it after the address).</summary>
    private static string StatusSentence(Subscriber subscriber) => subscriber.Status switch
    {
        SubscriberStatus.Active when subscriber.IsPaused => "Your digest is paused until you resume it.",
        SubscriberStatus.Active => subscriber.Preferences.Cadence == Cadence.Weekly
            ? "You're subscribed and get the weekly digest."
            : "You're subscribed and get the daily digest.",
        SubscriberStatus.Pending => "Your subscription is not confirmed yet. Use the link in the confirmation mail.",
        SubscriberStatus.Unsubscribed => "You're unsubscribed and get no mail from us.",
        SubscriberStatus.Bounced => "Mail to this address was refused by its server, so nothing is sent to it.",
        var other => other,
    };

    /// <summary>The preference fields of a JSON request, as the contract names them.</summary>
    private record PreferenceFields
    {
        public string[]? Topics { get; init; }
        public string[]? Keywords { get; init; }
        public string[]? Exclude { get; init; }
        public string[]? Authors { get; init; }
        public int? MinScore { get; init; }
        public string? TimeZone { get; init; }
        public int? SendHour { get; init; }
        public string[]? Weekdays { get; init; }
        public string? Cadence { get; init; }
        public string? WeeklyDay { get; init; }
        public string? Ranking { get; init; }
        public double? MinRelevance { get; init; }

        public PreferenceInput ToInput() => new()
        {
            Topics = Topics,
            Keywords = Keywords,
            Exclude = Exclude,
            Authors = Authors,
            MinScore = MinScore?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TimeZone = TimeZone,
            SendHour = SendHour?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Weekdays = Weekdays is null ? null : Weekdays.Length == 0 ? ["none"] : Weekdays,
            Cadence = Cadence,
            WeeklyDay = WeeklyDay,
            Ranking = Ranking,
            MinRelevance = MinRelevance?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private sealed record SubscribeRequest : PreferenceFields
    {
        public string? Email { get; init; }
    }

    private sealed record PreferencesRequest : PreferenceFields
    {
        public bool? Paused { get; init; }
    }
}
