using System.Globalization;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Issues;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>Who a digest is rendered for, with their personal signed links.</summary>
public sealed record DigestRecipient(string Email, string UnsubscribeUrl, string PreferencesUrl);

public sealed record RenderedDigest(string Subject, string Html, string Text);

/// <summary>
/// Renders a digest through the operator's templates. Templates see plain data only (strings,
/// numbers, lists), never services.
/// </summary>
public sealed class DigestRenderer(TemplateRenderer templates, MailHtml mailHtml, IOptions<NewsletterOptions> options)
{
    public const string SubjectTemplate = "digest.subject.sbn";
    public const string HtmlTemplate = "digest.html.sbn";
    public const string TextTemplate = "digest.txt.sbn";

    public static readonly string[] Required = [SubjectTemplate, HtmlTemplate, TextTemplate];

    public RenderedDigest Render(Issue issue, DigestRecipient recipient)
    {
        var model = Model(issue, recipient);
        var subject = TemplateRenderer.HeaderSafe(templates.Render(SubjectTemplate, model));
        var html = mailHtml.Finish(templates.Render(HtmlTemplate, model), recipient.Email, recipient.UnsubscribeUrl, recipient.PreferencesUrl);
        var text = LineWrapper.Wrap(templates.Render(TextTemplate, model), 76);
        return new RenderedDigest(subject, html, text);
    }

    private ScriptObject Model(Issue issue, DigestRecipient recipient)
    {
        var entries = new ScriptArray(issue.Entries.Select(entry => new ScriptObject
        {
            ["position"] = entry.Position,
            ["title"] = entry.Title,
            ["summary"] = entry.Summary,
            ["authors"] = new ScriptArray(entry.Authors),
            ["authors_text"] = string.Join(", ", entry.Authors),
            ["url"] = SafeLink(entry.Url),
            ["score"] = entry.Score,
            ["published"] = entry.PublishedAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "",
            ["source"] = entry.Source,
        }));
        return new ScriptObject
        {
            ["newsletter"] = NewsletterModel(options.Value),
            ["issue"] = new ScriptObject
            {
                ["date"] = issue.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["date_text"] = issue.Date.ToString("dddd, d MMMM yyyy", CultureInfo.InvariantCulture),
                ["entry_count"] = issue.Entries.Count,
                ["entries"] = entries,
            },
            ["subscriber"] = new ScriptObject { ["email"] = recipient.Email },
            ["unsubscribe_url"] = recipient.UnsubscribeUrl,
            ["preferences_url"] = recipient.PreferencesUrl,
        };
    }

    /// <summary>What every template knows about the newsletter itself.</summary>
    public static ScriptObject NewsletterModel(NewsletterOptions options) => new()
    {
        ["name"] = options.From.Name,
        ["home_url"] = options.PublicBaseUrl.TrimEnd('/') + "/",
    };

    /// <summary>Only http(s) links from feeds become links; anything else (javascript:, data:) is dropped.</summary>
    private static string SafeLink(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" ? parsed.AbsoluteUri : "";
}
