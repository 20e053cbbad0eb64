using System.ServiceModel.Syndication;
using System.Text.RegularExpressions;
using System.Xml;

namespace Newsletter.Sources;

/// <summary>
/// RSS 2.0 and Atom through System.ServiceModel.Syndication, with the arXiv specifics:
/// RSS <c>dc:creator</c> as one comma-separated string, the "arXiv:ID Announce Type: T Abstract: ..."
/// description, and arXiv API error feeds (HTTP 200 with one entry titled "Error").
/// </summary>
public static partial class SyndicationParser
{
    private const string DublinCore = "http://purl.org/dc/elements/1.1/";

    [GeneratedRegex(@"^\s*arXiv:(?<id>\S+)\s+Announce Type:\s*(?<type>\S+)\s*(?:Abstract:\s*)?(?<abstract>.*)$", RegexOptions.Singleline)]
    private static partial Regex ArxivDescription();

    /// <summary>Readers never resolve DTDs or external entities: feeds come from the internet.</summary>
    public static XmlReader CreateReader(ReadOnlyMemory<byte> content) =>
        XmlReader.Create(new MemoryStream(content.ToArray(), writable: false), new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = true,
        });

    public static IReadOnlyList<Entry> Parse(ReadOnlyMemory<byte> content, string sourceName, bool arxivApi)
    {
        SyndicationFeed feed;
        using (var reader = CreateReader(content))
            feed = SyndicationFeed.Load(reader);

        var entries = new List<Entry>();
        foreach (var item in feed.Items)
        {
            if (IsArxivApiError(item))
                throw new SourceException($"arXiv API error: {Text.Clean(item.Summary?.Text)}");
            entries.Add(ToEntry(item, sourceName));
        }
        if (arxivApi && entries.Count == 0 && feed.Id?.Contains("arxiv.org/api", StringComparison.OrdinalIgnoreCase) != true)
            throw new SourceException("not an arXiv API feed");
        return entries;
    }

    private static bool IsArxivApiError(SyndicationItem item) =>
        item.Id?.Contains("arxiv.org/api/errors", StringComparison.OrdinalIgnoreCase) == true
        || (item.Title?.Text == "Error" && item.Authors.Any(a => a.Name == "arXiv api core"));

    private static Entry ToEntry(SyndicationItem item, string sourceName)
    {
        var link = item.Links.FirstOrDefault(l => l.RelationshipType is null or "alternate")?.Uri?.AbsoluteUri
                   ?? item.Links.FirstOrDefault()?.Uri?.AbsoluteUri;
        var description = item.Summary?.Text ?? (item.Content as TextSyndicationContent)?.Text;
        string? arxivIdFromDescription = null;
        string summary;
        if (description is not null && ArxivDescription().Match(description) is { Success: true } match)
        {
            arxivIdFromDescription = match.Groups["id"].Value;
            summary = Text.Clean(match.Groups["abstract"].Value);
        }
        else
        {
            summary = item.Summary?.Type == "html" || item.Summary?.Type == "xhtml" || LooksLikeHtml(description)
                ? Text.FromHtml(description) : Text.Clean(description);
        }

        var creators = item.ElementExtensions.ReadElementExtensions<string>("creator", DublinCore);
        var authors = creators.Count > 0
            ? creators.SelectMany(Text.SplitAuthors).ToArray()
            : item.Authors.Select(a => Text.Clean(a.Name ?? a.Email)).Where(a => a.Length > 0).ToArray();

        var canonical = CanonicalId.For(sourceName, item.Id, link, arxivIdFromDescription);
        var published = item.PublishDate != default ? item.PublishDate
                      : item.LastUpdatedTime != default ? item.LastUpdatedTime : (DateTimeOffset?)null;
        var title = Text.Clean(item.Title?.Text);
        return new Entry(
            canonical,
            title.Length > 0 ? title : Text.Truncate(summary, 100),
            summary,
            authors,
            canonical.StartsWith("arxiv:", StringComparison.Ordinal) ? CanonicalId.ArxivAbsUrl(canonical) : link ?? "",
            published,
            0,
            sourceName,
            Categories(item));
    }

    /// <summary>RSS <c>&lt;category&gt;</c> text or Atom <c>term</c>; spaces would break the stored list, so such labels are joined.</summary>
    private static string[] Categories(SyndicationItem item) =>
        item.Categories.Select(c => Text.Clean(c.Name ?? c.Label).Replace(' ', '_')).Where(c => c.Length is > 0 and <= 50).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    private static bool LooksLikeHtml(string? text) =>
        text is not null && text.Contains('<') && text.Contains('>');
}
