using System.Globalization;
using System.Net;
using System.ServiceModel.Syndication;
using System.Text;
using System.Text.Json;
using System.Xml;
using Newsletter.Configuration;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Rendering;

namespace Newsletter.Archive;

/// <summary>A feed, written, and when its newest content last changed.</summary>
internal sealed record WrittenFeed(string Body, DateTimeOffset LastModified);

/// <summary>
/// The archive as feeds: one item per issue (its public page is the item's link and id), newest first, in
/// Atom 1.0 (written by System.ServiceModel.Syndication) and JSON Feed 1.1. An item's content is the issue's
/// papers as HTML, every text escaped and only http(s) links kept; feed text that XML cannot carry (control
/// characters, a lone surrogate) is replaced, so one bad title never breaks the whole feed.
/// </summary>
internal static class ArchiveFeeds
{
    public const string AtomType = "application/atom+xml; charset=utf-8";
    public const string JsonFeedType = "application/feed+json; charset=utf-8";

    public static WrittenFeed Atom(NewsletterOptions options, IReadOnlyList<ArchivedIssue> issues, string? topic)
    {
        var links = new Links(options, topic);
        var updated = Updated(issues);
        var feed = new SyndicationFeed(Title(options, topic), Description(options, topic), new Uri(links.Home), links.Feed("xml"), updated);
        feed.Links.Add(SyndicationLink.CreateSelfLink(new Uri(links.Feed("xml")), "application/atom+xml"));
        feed.Authors.Add(new SyndicationPerson { Name = XmlSafe(options.From.Name), Uri = links.Base + "/" });
        feed.Language = "en";
        feed.Items = issues.Select(issue => new SyndicationItem(
            XmlSafe(ItemTitle(options, issue.Issue)),
            SyndicationContent.CreateHtmlContent(XmlSafe(ContentHtml(issue.Issue))),
            new Uri(links.Issue(issue.Issue.Date)),
            links.Issue(issue.Issue.Date),
            issue.LastModified)
        {
            PublishDate = issue.ComposedAt,
            Summary = new TextSyndicationContent(XmlSafe(Summary(issue.Issue))),
        }).ToList();
        var text = new StringBuilder();
        using (var writer = XmlWriter.Create(text, new XmlWriterSettings { Indent = true, OmitXmlDeclaration = false }))
            new Atom10FeedFormatter(feed).WriteTo(writer);
        // A StringBuilder makes the declaration say utf-16; the bytes on the wire are UTF-8.
        return new WrittenFeed(text.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal), updated);
    }

    /// <summary>JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/): version, title, items with an id and content.</summary>
    public static WrittenFeed Json(NewsletterOptions options, IReadOnlyList<ArchivedIssue> issues, string? topic)
    {
        var links = new Links(options, topic);
        var feed = new
        {
            version = "https://jsonfeed.org/version/1.1",
            title = Title(options, topic),
            home_page_url = links.Home,
            feed_url = links.Feed("json"),
            description = Description(options, topic),
            language = "en",
            authors = new[] { new { name = options.From.Name, url = links.Base + "/" } },
            items = issues.Select(issue => new
            {
                id = links.Issue(issue.Issue.Date),
                url = links.Issue(issue.Issue.Date),
                title = ItemTitle(options, issue.Issue),
                content_html = ContentHtml(issue.Issue),
                summary = Summary(issue.Issue),
                date_published = issue.ComposedAt.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture),
                date_modified = issue.LastModified.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture),
            }).ToArray(),
        };
        return new WrittenFeed(JsonSerializer.Serialize(feed, new JsonSerializerOptions { WriteIndented = true }), Updated(issues));
    }

    private static DateTimeOffset Updated(IReadOnlyList<ArchivedIssue> issues) =>
        issues.Count == 0 ? DateTimeOffset.UnixEpoch : issues.Max(i => i.LastModified);

    private static string Title(NewsletterOptions options, string? topic) =>
        string.IsNullOrEmpty(topic) ? options.From.Name : $"{options.From.Name}: {topic}";

    private static string Description(NewsletterOptions options, string? topic) =>
        string.IsNullOrEmpty(topic) ? $"Every issue of {options.From.Name}" : $"The papers in {topic} of every issue of {options.From.Name}";

    private static string ItemTitle(NewsletterOptions options, Issue issue) =>
        $"{options.From.Name}, {issue.Date.ToString("dddd, d MMMM yyyy", CultureInfo.InvariantCulture)}";

    private static string Summary(Issue issue)
    {
        var titles = issue.Entries.Concat(issue.More).Take(5).Select(e => DigestRenderer.Printable(e.Title));
        return $"{issue.PaperCount} paper{(issue.PaperCount == 1 ? "" : "s")}: " + string.Join("; ", titles) + (issue.PaperCount > 5 ? "; ..." : "");
    }

    /// <summary>The issue's papers as HTML: every value escaped, links only when http(s).</summary>
    private static string ContentHtml(Issue issue)
    {
        var html = new StringBuilder();
        html.Append("<ol>");
        foreach (var entry in issue.Entries)
        {
            html.Append("<li>").Append(Linked(entry));
            var byline = string.Join(", ", entry.Authors.Take(DigestRenderer.MaxAuthorsShown).Select(DigestRenderer.Printable));
            if (entry.Authors.Count > DigestRenderer.MaxAuthorsShown)
                byline += ", et al.";
            if (entry.Score > 0)
                byline += (byline.Length > 0 ? " · " : "") + $"▲ {entry.Score}";
            if (byline.Length > 0)
                html.Append("<br><small>").Append(WebUtility.HtmlEncode(byline)).Append("</small>");
            if (entry.Summary.Length > 0)
                html.Append("<p>").Append(WebUtility.HtmlEncode(DigestRenderer.Printable(entry.Summary))).Append("</p>");
            html.Append("</li>");
        }
        html.Append("</ol>");
        if (issue.More.Count > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p>More papers ({issue.More.Count})</p><ol start=\"{issue.Entries.Count + 1}\">");
            foreach (var entry in issue.More)
                html.Append("<li>").Append(Linked(entry)).Append("</li>");
            html.Append("</ol>");
        }
        return html.ToString();
    }

    private static string Linked(IssueEntry entry)
    {
        var title = WebUtility.HtmlEncode(DigestRenderer.Printable(entry.Title));
        return Uri.TryCreate(entry.Url, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? $"<a href=\"{WebUtility.HtmlEncode(url.AbsoluteUri)}\">{title}</a>"
            : title;
    }

    /// <summary>Text XML 1.0 can carry: anything else becomes U+FFFD.</summary>
    private static string XmlSafe(string text)
    {
        StringBuilder? safe = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                safe?.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }
            if (XmlConvert.IsXmlChar(c))
            {
                safe?.Append(c);
                continue;
            }
            safe ??= new StringBuilder(text, 0, i, text.Length);
            safe.Append('\uFFFD');
        }
        return safe?.ToString() ?? text;
    }

    private sealed class Links(NewsletterOptions options, string? topic)
    {
        public string Base { get; } = options.PublicBaseUrl.TrimEnd('/');

        private string Query => string.IsNullOrEmpty(topic) ? "" : "?topic=" + Uri.EscapeDataString(topic);

        public string Home => Base + "/archive";

        public string Feed(string extension) => $"{Base}/feed.{extension}{Query}";

        public string Issue(DateOnly date) => $"{Base}/archive/{date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}{Query}";
    }
}
