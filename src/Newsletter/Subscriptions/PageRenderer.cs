using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Rendering;
using Scriban.Runtime;

namespace Newsletter.Subscriptions;

/// <summary>
/// Web pages from operator-editable templates: <c>pages/NAME.html.sbn</c> renders the content and
/// <c>pages/layout.html.sbn</c> wraps it (its <c>content</c> is trusted HTML).
/// </summary>
public sealed class PageRenderer(TemplateRenderer templates, IAntiforgery antiforgery, IOptions<NewsletterOptions> options)
{
    /// <summary>The page templates the web front renders; start-up fails when one is missing.</summary>
    public static readonly string[] Required =
        new[] { "layout", "subscribe", "check-inbox", "confirm", "confirmed", "invalid-link", "unsubscribe", "unsubscribed", "preferences", "feedback" }
            .Select(page => $"pages/{page}.html.sbn").ToArray();

    /// <param name="layout">The frame around the page: <c>layout</c>, or another page template (the operator's console has its own, wider one).</param>
    public IResult Render(HttpContext http, string page, string title, ScriptObject? model = null, int statusCode = StatusCodes.Status200OK, bool hasForm = false, string layout = "layout")
    {
        model ??= [];
        model["newsletter"] = DigestRenderer.NewsletterModel(options.Value);
        model["title"] = title;
        // Only pages with a form get an antiforgery token (and its cookie): the others must be
        // byte-identical for every visitor, e.g. the answer to a subscribe request.
        if (hasForm)
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            model["antiforgery"] = new ScriptObject { ["field"] = tokens.FormFieldName, ["token"] = tokens.RequestToken ?? "" };
        }
        var content = templates.Render($"pages/{page}.html.sbn", model);
        model["content"] = new TrustedHtml(content);
        var html = templates.Render($"pages/{layout}.html.sbn", model);
        // Pages carry personal tokens: keep them out of shared caches and referrers.
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        return TypedResults.Content(html, "text/html; charset=utf-8", statusCode: statusCode);
    }
}
