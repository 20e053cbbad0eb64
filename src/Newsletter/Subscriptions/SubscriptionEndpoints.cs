using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;
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
    private const int MaxTopics = 20;

    public static WebApplication MapSubscriptions(this WebApplication app)
    {
        app.UseRateLimiter();
        app.MapGet("/", (HttpContext http, PageRenderer pages) => SubscribePage(http, pages, null, "", StatusCodes.Status200OK));
        app.MapPost("/subscribe", SubscribeAsync).RequireRateLimiting(SubscribeRateLimit).DisableAntiforgery();
        app.MapGet("/confirm", ConfirmPageAsync);
        app.MapPost("/confirm", ConfirmAsync).RequireRateLimiting(LinkRateLimit).DisableAntiforgery();
        app.MapGet("/unsubscribe", UnsubscribePageAsync);
        app.MapPost("/unsubscribe", UnsubscribeAsync).RequireRateLimiting(LinkRateLimit).DisableAntiforgery();
        app.MapGet("/preferences", PreferencesPageAsync);
        app.MapPost("/preferences", SavePreferencesAsync).RequireRateLimiting(LinkRateLimit).DisableAntiforgery();
        return app;
    }

    private static IResult SubscribePage(HttpContext http, PageRenderer pages, string? error, string email, int status) =>
        pages.Render(http, "subscribe", "Subscribe", new ScriptObject { ["error"] = error ?? "", ["email"] = email }, status, hasForm: true);

    private static IResult InvalidLink(HttpContext http, PageRenderer pages) =>
        pages.Render(http, "invalid-link", "Link invalid or expired", statusCode: StatusCodes.Status400BadRequest);

    /// <summary>
    /// The answer is the same (status, body, and roughly time: mail goes out in the background)
    /// whether the address is new, pending, active or unsubscribed.
    /// </summary>
    private static async Task<IResult> SubscribeAsync(HttpContext http, PageRenderer pages, SubscriberStore subscribers,
        ConfirmationMailer mailer, IAntiforgery antiforgery, IOptions<SubscriptionOptions> options, AddressLimiter addressLimiter, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var json = http.Request.HasJsonContentType();
        string? email, honeypot = null;
        IEnumerable<string> topics;
        if (json)
        {
            SubscribeRequest? body;
            try { body = await http.Request.ReadFromJsonAsync<SubscribeRequest>(cancellationToken); }
            catch (JsonException) { body = null; }
            if (body is null)
                return TypedResults.Problem("The body must be JSON like {\"email\": \"you@example.org\"}.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid request");
            (email, topics) = (body.Email, body.Topics ?? []);
        }
        else if (http.Request.HasFormContentType)
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return SubscribePage(http, pages, "Your session expired. Please try again.", "", StatusCodes.Status400BadRequest);
            var form = await http.Request.ReadFormAsync(cancellationToken);
            (email, honeypot, topics) = (form["email"].ToString(), form[HoneypotField].ToString(), form["topics"].ToString().Split(','));
        }
        else
        {
            return TypedResults.Problem("Send a form or JSON.", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }

        if (!EmailAddress.TryParse(email, out var address, out var problem, options.Value.AllowUnicodeLocalPart))
            return json
                ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["email"] = [problem] }, title: "Invalid email address")
                : SubscribePage(http, pages, problem, email ?? "", StatusCodes.Status400BadRequest);

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
            var (id, send) = await subscribers.RequestSubscriptionAsync(address!, NormaliseTopics(topics), options.Value.ConfirmationResendInterval, cancellationToken);
            if (send)
                mailer.Enqueue(id);
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
            new ScriptObject { ["token"] = token, ["email"] = subscriber.Email }, hasForm: true);
    }

    /// <summary>
    /// The form's antiforgery check failed although its link is good: the form was served before
    /// the keys changed, or the browser dropped the cookie. Say so and offer the form again,
    /// rather than calling a good link invalid.
    /// </summary>
    private const string FormExpired = "This form had expired or your browser did not send its cookie; please press the button again.";

    private static async Task<IResult> ConfirmAsync(HttpContext http, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, IAntiforgery antiforgery, CancellationToken cancellationToken)
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
        if (!tokens.TryRead(form["token"], TokenPurpose.Confirm, out var id, out var episode) || !await subscribers.ConfirmAsync(id, episode, cancellationToken))
            return InvalidLink(http, pages);
        return pages.Render(http, "confirmed", "Subscription confirmed");
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

    private static async Task<IResult> PreferencesPageAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TokenPurpose.Preferences, out var id) || await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return InvalidLink(http, pages);
        return PreferencesPage(http, pages, token!, subscriber, saved: false);
    }

    private static async Task<IResult> SavePreferencesAsync(HttpContext http, LinkTokens tokens, SubscriberStore subscribers, PageRenderer pages, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        if (!http.Request.HasFormContentType)
            return InvalidLink(http, pages);
        var form = await http.Request.ReadFormAsync(cancellationToken);
        string token = form["token"].ToString();
        if (!tokens.TryRead(token, TokenPurpose.Preferences, out var id))
            return InvalidLink(http, pages);
        if (!await antiforgery.IsRequestValidAsync(http))
            return await subscribers.FindAsync(id, cancellationToken) is { } reader
                ? PreferencesPage(http, pages, token, reader, saved: false, notice: FormExpired, StatusCodes.Status400BadRequest)
                : InvalidLink(http, pages);
        if (form["resubscribe"] == "1")
            await subscribers.ResubscribeAsync(id, cancellationToken);
        else if (!await subscribers.SavePreferencesAsync(id, form["paused"] == "on", NormaliseTopics(form["topics"].ToString().Split(',')), cancellationToken))
            return InvalidLink(http, pages);
        if (await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return InvalidLink(http, pages);
        return PreferencesPage(http, pages, token, subscriber, saved: true);
    }

    private static IResult PreferencesPage(HttpContext http, PageRenderer pages, string token, Subscriber subscriber, bool saved,
        string notice = "", int statusCode = StatusCodes.Status200OK) =>
        pages.Render(http, "preferences", "Preferences", new ScriptObject
        {
            ["notice"] = notice,
            ["status_text"] = subscriber.Status switch
            {
                SubscriberStatus.Active when subscriber.IsPaused => "paused: no digests until you resume",
                SubscriberStatus.Active => "subscribed: you get the digest",
                SubscriberStatus.Pending => "not confirmed yet: use the link in the confirmation mail",
                SubscriberStatus.Unsubscribed => "unsubscribed: you get no mail from us",
                SubscriberStatus.Bounced => "suspended: mail to this address was refused by its server",
                var other => other,
            },
            ["can_resubscribe"] = subscriber.Status == SubscriberStatus.Unsubscribed,
            ["token"] = token,
            ["email"] = subscriber.Email,
            ["status"] = subscriber.Status,
            ["paused"] = subscriber.IsPaused,
            ["topics"] = new ScriptArray(subscriber.TopicList),
            ["topics_text"] = string.Join(", ", subscriber.TopicList),
            ["saved"] = saved,
        }, statusCode, hasForm: true);

    /// <summary>Topics as short labels (e.g. "cs.LG"), de-duplicated, at most <see cref="MaxTopics"/>.</summary>
    private static string NormaliseTopics(IEnumerable<string> topics) =>
        string.Join(',', topics.Select(t => new string(t.Trim().Where(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' or ' ').ToArray()).Trim())
            .Where(t => t.Length is > 0 and <= 50).Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxTopics));

    private sealed record SubscribeRequest(string? Email, string[]? Topics);
}
