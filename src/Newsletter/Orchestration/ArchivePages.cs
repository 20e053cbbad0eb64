using System.Globalization;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Rendering;
using Scriban.Runtime;

namespace Newsletter.Orchestration;

/// <summary>A page of the public archive, rendered, with when what it shows last changed (for Last-Modified).</summary>
public sealed record ArchivePage(string Html, DateTimeOffset LastModified);

/// <summary>
/// The public archive's pages from the operator's templates (<c>pages/archive.html.sbn</c>, the index, and
/// <c>pages/archive-issue.html.sbn</c>, one day's issue), inside <c>pages/layout.html.sbn</c> as every page.
/// An issue is shown through the digest's own <c>issue</c> variable (<see cref="DigestRenderer.IssueModel"/>),
/// so a paper looks as it does in the mail; there is no <c>subscriber</c>, no token and no personal link,
/// and the pages are byte-identical for every visitor (which is what lets them be cached).
/// </summary>
public sealed class ArchivePages(ArchiveStore archive, DigestRenderer digests, TemplateRenderer templates, IOptions<NewsletterOptions> options)
{
    public const string IndexTemplate = "pages/archive.html.sbn";
    public const string IssueTemplate = "pages/archive-issue.html.sbn";

    public static readonly string[] Required = [IndexTemplate, IssueTemplate];

    /// <summary>Page <paramref name="page"/> of the index (from 1); null past the last page (the first page always exists).</summary>
    public async Task<ArchivePage?> IndexAsync(int page, CancellationToken cancellationToken)
    {
        var size = options.Value.Archive.PageSize;
        var (issues, total) = await archive.ListAsync(page, size, cancellationToken);
        if (page < 1 || (page > 1 && issues.Count == 0))
            return null;
        var model = IndexModel(options.Value, issues, page, pages: Math.Max(1, (total + size - 1) / size), total);
        var lastModified = issues.Count == 0 ? DateTimeOffset.UnixEpoch : issues.Max(i => i.LastModified);
        return new ArchivePage(Render(IndexTemplate, model), lastModified);
    }

    /// <summary>The issue of a date (narrowed to a topic when one is given); null when there is none with papers.</summary>
    public async Task<ArchivePage?> IssueAsync(DateOnly date, string? topic, CancellationToken cancellationToken)
    {
        if (await archive.GetAsync(date, topic, cancellationToken) is not { } issue)
            return null;
        return new ArchivePage(Render(IssueTemplate, IssuePageModel(options.Value, digests, issue.Issue, topic)), issue.LastModified);
    }

    internal static ScriptObject IndexModel(NewsletterOptions options, IReadOnlyList<ArchiveListing> issues, int page, int pages, int total) => Page(options, "Archive", new ScriptObject
    {
        ["issues"] = new ScriptArray(issues.Select(i => new ScriptObject
        {
            ["date"] = Date(i.Date),
            ["date_text"] = i.Date.ToString("dddd, d MMMM yyyy", CultureInfo.InvariantCulture),
            ["url"] = "/archive/" + Date(i.Date),
            ["paper_count"] = i.Papers,
        })),
        ["issue_count"] = total,
        ["page"] = page,
        ["pages"] = pages,
        ["newer_url"] = page > 1 ? (page == 2 ? "/archive" : $"/archive?page={page - 1}") : "",
        ["older_url"] = page < pages ? $"/archive?page={page + 1}" : "",
    });

    internal static ScriptObject IssuePageModel(NewsletterOptions options, DigestRenderer digests, Issue issue, string? topic)
    {
        var model = Page(options, issue.Date.ToString("dddd, d MMMM yyyy", CultureInfo.InvariantCulture), new ScriptObject
        {
            ["issue"] = digests.IssueModel(issue),
            ["topic"] = topic ?? "",
        });
        if (!string.IsNullOrEmpty(topic))
        {
            var query = "?topic=" + Uri.EscapeDataString(topic);
            model["feed_atom_url"] = "/feed.xml" + query;
            model["feed_json_url"] = "/feed.json" + query;
        }
        return model;
    }

    /// <summary>What every archive page gets, as <c>PageRenderer</c> gives its pages <c>newsletter</c> and <c>title</c>.</summary>
    private static ScriptObject Page(NewsletterOptions options, string title, ScriptObject model)
    {
        model["newsletter"] = DigestRenderer.NewsletterModel(options);
        model["title"] = title;
        model["archive_index_url"] = "/archive";
        model["feed_atom_url"] = "/feed.xml";
        model["feed_json_url"] = "/feed.json";
        model["subscribe_url"] = "/";
        return model;
    }

    private string Render(string template, ScriptObject model)
    {
        model["content"] = new TrustedHtml(templates.Render(template, model));
        return templates.Render("pages/layout.html.sbn", model);
    }

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
