using Scriban.Runtime;

namespace Newsletter.Subscriptions;

/// <summary>
/// "More like this" / "less like this" from a digest. Mail scanners open every link seconds after delivery, so
/// <c>GET /feedback?token=</c> only shows a page with one button; the button's <c>POST /feedback?token=</c> records
/// the vote. The signed token (reader, paper, direction) is the whole authority, as for one-click unsubscribe, so the
/// POST takes no antiforgery token. Voting again changes the vote; the page says what changed.
/// </summary>
internal static class FeedbackEndpoints
{
    public static void MapFeedback(this WebApplication app)
    {
        app.MapGet("/feedback", FeedbackPageAsync);
        app.MapPost("/feedback", RecordAsync).RequireRateLimiting(SubscriptionEndpoints.LinkRateLimit).DisableAntiforgery();
    }

    private static bool TryRead(LinkTokens tokens, string? token, out long subscriberId, out long entryId, out bool moreLike)
    {
        moreLike = tokens.TryRead(token, TokenPurpose.MoreLike, out subscriberId, out entryId);
        return moreLike || tokens.TryRead(token, TokenPurpose.LessLike, out subscriberId, out entryId);
    }

    private static async Task<IResult> FeedbackPageAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, VoteStore votes,
        PageRenderer pages, MailLinks links, CancellationToken cancellationToken)
    {
        if (!TryRead(tokens, token, out var subscriberId, out var entryId, out var moreLike)
            || await subscribers.FindAsync(subscriberId, cancellationToken) is null || await votes.TitleAsync(entryId, cancellationToken) is not { } title)
            return Invalid(http, pages);
        return pages.Render(http, "feedback", moreLike ? "More like this" : "Less like this", Model(token!, title, moreLike, recorded: false, changed: "", links.Preferences(subscriberId)));
    }

    private static async Task<IResult> RecordAsync(HttpContext http, string? token, LinkTokens tokens, SubscriberStore subscribers, VoteStore votes,
        PageRenderer pages, MailLinks links, CancellationToken cancellationToken)
    {
        // The form is read even when the query has the token: an oversized body then gets its 413.
        if (http.Request.HasFormContentType && (await http.Request.ReadFormAsync(cancellationToken))["token"] is { Count: > 0 } posted)
            token ??= posted;
        if (!TryRead(tokens, token, out var subscriberId, out var entryId, out var moreLike)
            || await subscribers.FindAsync(subscriberId, cancellationToken) is null || await votes.TitleAsync(entryId, cancellationToken) is not { } title)
            return Invalid(http, pages);
        var previous = await votes.RecordAsync(subscriberId, entryId, moreLike ? 1 : -1, VoteOrigin.Mail, cancellationToken);
        var changed = previous switch
        {
            null => "",
            var p when p == (moreLike ? 1 : -1) => "You had already said so; nothing changed.",
            _ => moreLike ? "This replaces your earlier \u201cless like this\u201d." : "This replaces your earlier \u201cmore like this\u201d.",
        };
        return pages.Render(http, "feedback", "Thanks", Model(token!, title, moreLike, recorded: true, changed, links.Preferences(subscriberId)));
    }

    internal static ScriptObject Model(string token, string title, bool moreLike, bool recorded, string changed, string preferencesUrl) => new()
    {
        ["token"] = token,
        ["paper_title"] = title,
        ["more_like"] = moreLike,
        ["recorded"] = recorded,
        ["changed"] = changed,
        ["preferences_url"] = preferencesUrl,
    };

    private static IResult Invalid(HttpContext http, PageRenderer pages) =>
        pages.Render(http, "invalid-link", "Link invalid or expired", statusCode: StatusCodes.Status400BadRequest);
}
