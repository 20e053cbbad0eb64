using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Issues;
using Scriban;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>Who a digest is rendered for, with their personal signed links.</summary>
public sealed record DigestRecipient(string Email, string UnsubscribeUrl, string PreferencesUrl);

public sealed record RenderedDigest(string Subject, string Html, string Text);

/// <summary>
/// Renders a digest through the operator's templates. Templates see plain data only (strings,
/// numbers, lists), never services; every render has a fresh context (contexts are not
/// thread-safe) with loop, recursion, output-size and time limits.
/// </summary>
public sealed partial class DigestRenderer(TemplateStore templates, IOptions<NewsletterOptions> options)
{
    public const string SubjectTemplate = "digest.subject.sbn";
    public const string HtmlTemplate = "digest.html.sbn";
    public const string TextTemplate = "digest.txt.sbn";

    public static readonly string[] Required = [SubjectTemplate, HtmlTemplate, TextTemplate];

    internal const int LoopLimit = 10_000;
    internal const int RecursiveLimit = 50;
    internal const int LimitToString = 1_000_000;
    internal static readonly TimeSpan RenderTimeout = TimeSpan.FromSeconds(5);

    [GeneratedRegex(@"[\p{C}\s]+")]
    private static partial Regex HeaderUnsafe();

    public RenderedDigest Render(Issue issue, DigestRecipient recipient)
    {
        var model = Model(issue, recipient);
        var subject = HeaderUnsafe().Replace(RenderOne(SubjectTemplate, model, html: false), " ").Trim();
        var html = LineWrapper.Wrap(RenderOne(HtmlTemplate, model, html: true), 900);
        var text = LineWrapper.Wrap(RenderOne(TextTemplate, model, html: false), 76);
        return new RenderedDigest(subject, html, text);
    }

    private string RenderOne(string name, ScriptObject model, bool html)
    {
        var template = templates.Get(name);
        using var timeout = new CancellationTokenSource(RenderTimeout);
        var context = html ? new HtmlTemplateContext() : new TemplateContext();
        context.LoopLimit = LoopLimit;
        context.RecursiveLimit = RecursiveLimit;
        context.LimitToString = LimitToString;
        context.TemplateLoader = templates;
        context.CancellationToken = timeout.Token;
        context.PushGlobal(model);
        return template.Render(context);
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
            ["newsletter"] = new ScriptObject
            {
                ["name"] = options.Value.From.Name,
                ["home_url"] = options.Value.PublicBaseUrl.TrimEnd('/') + "/",
            },
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

    /// <summary>Only http(s) links from feeds become links; anything else (javascript:, data:) is dropped.</summary>
    private static string SafeLink(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" ? parsed.AbsoluteUri : "";
}
