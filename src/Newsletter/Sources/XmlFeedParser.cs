using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace Newsletter.Sources;

internal enum XmlDialect { Rss, Rdf, Atom03, Atom10 }

/// <summary>
/// Every common XML feed dialect through one reader that never resolves a DTD and caps nesting:
/// RSS 0.91/0.92/2.0 (<c>rss/channel/item</c>), RSS 0.90 and 1.0 (RDF: items beside the channel, the
/// item's <c>rdf:about</c> as its id), Atom 1.0 and 0.3 (<c>issued</c>/<c>modified</c>, escaped content),
/// with Dublin Core (<c>dc:creator</c>, <c>dc:date</c>, <c>dc:identifier</c>) and PRISM (<c>prism:doi</c>,
/// <c>prism:publicationDate</c>) where a journal's table-of-contents feed has them, plus the arXiv
/// specifics: the "arXiv:ID Announce Type: T Abstract: ..." description, one comma-separated
/// <c>dc:creator</c>, and API error feeds (HTTP 200 with one entry titled "Error").
/// </summary>
/// <remarks>
/// Our own parser rather than <c>CodeHollow.FeedReader</c> or <c>System.ServiceModel.Syndication</c>: neither
/// reads RSS 0.90/1.0 and Atom 0.3 with their DC/PRISM fields, FeedReader parses from a string with its own
/// XML settings (our DTD and depth limits could not be enforced on what it reads), and both fail a whole feed
/// on one malformed item. Elements are matched by namespace and local name, so a feed that mixes modules is read.
/// </remarks>
public static partial class XmlFeedParser
{
    private static readonly XNamespace Rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
    private static readonly XNamespace Atom10 = "http://www.w3.org/2005/Atom";
    private static readonly XNamespace Atom03 = "http://purl.org/atom/ns#";
    private static readonly XNamespace DublinCore = "http://purl.org/dc/elements/1.1/";
    private static readonly XNamespace DublinCoreTerms = "http://purl.org/dc/terms/";
    private static readonly XNamespace ContentModule = "http://purl.org/rss/1.0/modules/content/";
    private static readonly XNamespace ArxivSchema = "http://arxiv.org/schemas/atom";

    /// <summary>Feeds nest a handful of levels; anything far deeper is an attack on the parser, not a feed.</summary>
    public const int MaxDepth = 64;

    [GeneratedRegex(@"^\s*arXiv:(?<id>\S+)\s+Announce Type:\s*(?<type>\S+)\s*(?:Abstract:\s*)?(?<abstract>.*)$", RegexOptions.Singleline)]
    private static partial Regex ArxivDescription();

    /// <summary>
    /// Readers skip DTDs without processing them, so nothing is fetched and no entity is declared:
    /// an XXE or "billion laughs" reference fails as an undeclared entity before anything expands,
    /// while an RSS 0.91 feed with the usual Netscape DOCTYPE is still read. Feeds come from the internet.
    /// </summary>
    public static XmlReader CreateReader(ReadOnlyMemory<byte> content) =>
        // The fetched buffer is read in place: a 20 MB feed is not copied once per pass.
        XmlReader.Create(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false), new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Ignore,
            XmlResolver = null,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            MaxCharactersFromEntities = 1024,
        });

    public static ParsedFeed Parse(ReadOnlyMemory<byte> content, string sourceName, bool arxivApi)
    {
        content = NetscapeEntities.Resolve(content);
        var root = Load(content).Root ?? throw new SourceException("the XML document is empty");
        var dialect = Dialect(root);
        var feed = new ParsedFeedBuilder();
        var items = Items(root, dialect).ToList();
        // Atom entries without an author inherit the feed's (RFC 4287 4.2.1).
        var feedAuthors = dialect is XmlDialect.Atom03 or XmlDialect.Atom10 ? AtomAuthors(root) : [];
        foreach (var item in items.Where(i => dialect is XmlDialect.Atom10 && IsArxivApiError(i)))
            throw new SourceException($"arXiv API error: {Text.Clean(item.Element(Atom10 + "summary")?.Value)}");
        var context = new ItemContext(sourceName, arxivApi || IsArxivFeed(root, dialect), FeedBase(root, dialect));
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            feed.Add(i, () => dialect is XmlDialect.Atom03 or XmlDialect.Atom10 ? FromAtom(item, feedAuthors, context) : FromRss(item, context));
        }
        if (arxivApi && items.Count == 0 && (dialect != XmlDialect.Atom10
            || root.Element(Atom10 + "id")?.Value.Contains("arxiv.org/api", StringComparison.OrdinalIgnoreCase) != true))
            throw new SourceException("not an arXiv API feed");
        return feed.Build();
    }

    /// <summary>The dialect from the root element alone, for <see cref="SourceKind.Auto"/>.</summary>
    internal static XmlDialect DetectDialect(ReadOnlyMemory<byte> content)
    {
        content = NetscapeEntities.Resolve(content);
        using var reader = CreateReader(content);
        reader.MoveToContent();
        return (reader.LocalName, reader.NamespaceURI) switch
        {
            ("rss", _) => XmlDialect.Rss,
            ("RDF", var ns) when ns == Rdf.NamespaceName => XmlDialect.Rdf,
            ("feed", var ns) when ns == Atom10.NamespaceName => XmlDialect.Atom10,
            ("feed", var ns) when ns == Atom03.NamespaceName => XmlDialect.Atom03,
            var (name, _) => throw Unrecognised(name),
        };
    }

    /// <summary>A first pass checks depth (and well-formedness) before anything is built from the document.</summary>
    private static XDocument Load(ReadOnlyMemory<byte> content)
    {
        using (var reader = CreateReader(content))
        {
            while (reader.Read())
                if (reader.Depth > MaxDepth)
                    throw new SourceException($"the XML nests deeper than {MaxDepth} levels; refused");
        }
        using var load = CreateReader(content);
        return XDocument.Load(load);
    }

    private static XmlDialect Dialect(XElement root) => root.Name switch
    {
        { LocalName: "rss" } => XmlDialect.Rss,
        var name when name == Rdf + "RDF" => XmlDialect.Rdf,
        var name when name == Atom10 + "feed" => XmlDialect.Atom10,
        var name when name == Atom03 + "feed" => XmlDialect.Atom03,
        var name => throw Unrecognised(name.LocalName),
    };

    private static SourceException Unrecognised(string root) =>
        new($"unrecognised XML document <{root}>; expected RSS 0.90, 0.91, 0.92, 1.0 (RDF) or 2.0, or Atom 0.3 or 1.0");

    /// <summary>Who the items come from: an arXiv or Hugging Face feed may write bare new-style arXiv ids.</summary>
    private sealed record ItemContext(string SourceName, bool ArxivFeed, Uri? Base);

    /// <summary>The channel's (or Atom feed's) own http(s) link, against which relative item links resolve.</summary>
    private static Uri? FeedBase(XElement root, XmlDialect dialect)
    {
        var channel = root.Elements().FirstOrDefault(e => e.Name.LocalName == "channel");
        var link = dialect is XmlDialect.Atom03 or XmlDialect.Atom10
            ? root.Elements(root.Name.Namespace + "link").Select(l => (string?)l.Attribute("href")).FirstOrDefault()
            : Value(channel?.Elements().FirstOrDefault(e => e.Name.LocalName == "link"));
        return HttpUrl(link);
    }

    /// <summary>
    /// Only an absolute http(s) URL counts as a link: on Linux "/articles/123" parses as an absolute file: URI.
    /// </summary>
    private static Uri? HttpUrl(string? value) =>
        Uri.TryCreate(value?.Trim(), UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && !value!.TrimStart().StartsWith('/') ? url : null;

    /// <summary>
    /// An item's link as an absolute http(s) URL: a scheme-less paper link (<c>arxiv.org/abs/ID</c>) as its
    /// page, other relative ones resolved against the channel's link.
    /// </summary>
    private static string? Resolve(string? link, Uri? feedBase)
    {
        if (link is null)
            return null;
        if (HttpUrl(link) is { } absolute)
            return absolute.OriginalString.Trim();
        // Resolved against the channel, "arxiv.org/abs/ID" would become a dead page of the feed's own host.
        if (PaperLinks.FromSchemeless(link) is { } page)
            return page;
        if (feedBase is not null && !link.Contains(':', StringComparison.Ordinal) && Uri.TryCreate(feedBase, link.Trim(), out var resolved))
            return resolved.AbsoluteUri;
        return link;
    }

    /// <summary>The feed's own link (RSS/RDF channel link, Atom link or id) is on arxiv.org or huggingface.co.</summary>
    private static bool IsArxivFeed(XElement root, XmlDialect dialect)
    {
        var channel = root.Elements().FirstOrDefault(e => e.Name.LocalName == "channel");
        IEnumerable<string?> links = dialect is XmlDialect.Atom03 or XmlDialect.Atom10
            ? [.. root.Elements(root.Name.Namespace + "link").Select(l => (string?)l.Attribute("href")), Value(root.Element(root.Name.Namespace + "id"))]
            : [Value(channel?.Elements().FirstOrDefault(e => e.Name.LocalName == "link")), (string?)channel?.Attribute(Rdf + "about")];
        return links.Any(l => Uri.TryCreate(l, UriKind.Absolute, out var url)
            && (url.Host.Equals("arxiv.org", StringComparison.OrdinalIgnoreCase) || url.Host.EndsWith(".arxiv.org", StringComparison.OrdinalIgnoreCase)
                || url.Host.Equals("huggingface.co", StringComparison.OrdinalIgnoreCase)));
    }

    private static IEnumerable<XElement> Items(XElement root, XmlDialect dialect) => dialect switch
    {
        XmlDialect.Rss => root.Elements().Where(e => e.Name.LocalName == "channel").Elements().Where(e => e.Name.LocalName == "item"),
        // RSS 0.90 (my.netscape.com namespace) and 1.0 (purl.org/rss/1.0): items are siblings of the channel.
        XmlDialect.Rdf => root.Elements().Where(e => e.Name.LocalName == "item"),
        XmlDialect.Atom10 => root.Elements(Atom10 + "entry"),
        _ => root.Elements(Atom03 + "entry"),
    };

    private static bool IsArxivApiError(XElement entry) =>
        entry.Element(Atom10 + "id")?.Value.Contains("arxiv.org/api/errors", StringComparison.OrdinalIgnoreCase) == true
        || (entry.Element(Atom10 + "title")?.Value == "Error"
            && entry.Elements(Atom10 + "author").Any(a => a.Element(Atom10 + "name")?.Value == "arXiv api core"));

    private static Entry? FromRss(XElement item, ItemContext context)
    {
        // RSS 2.0 elements have no namespace; RSS 0.90/1.0 ones share the item's namespace.
        var ns = item.Name.Namespace;
        var guidElement = item.Element(ns + "guid");
        // RSS 2.0: a guid is a permalink unless isPermaLink="false"; with no <link> it is the item's URL.
        var permalink = guidElement is not null && !string.Equals(((string?)guidElement.Attribute("isPermaLink"))?.Trim(), "false", StringComparison.OrdinalIgnoreCase)
            ? HttpUrl(Value(guidElement))?.OriginalString.Trim() ?? PaperLinks.FromSchemeless(Value(guidElement)) : null;
        var link = Resolve(Value(item.Element(ns + "link")) ?? Value(item.Element(DublinCoreTerms + "source")), context.Base) ?? permalink;
        var description = Value(item.Element(ns + "description"))
                          ?? Value(item.Element(ContentModule + "encoded"))
                          ?? Value(item.Element(DublinCore + "description"))
                          ?? Value(item.Element(DublinCoreTerms + "abstract"));
        var (summary, arxivId) = Summary(description, typedHtml: false);

        var authors = item.Elements(DublinCore + "creator").SelectMany(c => SurnameInitials(Text.SplitAuthors(c.Value))).ToList();
        if (authors.Count == 0)
            authors.AddRange(item.Elements(ns + "author").Select(a => RssAuthor(a.Value)).Where(a => a.Length > 0));

        var ids = new List<string?> { Value(item.Element(ns + "guid")), (string?)item.Attribute(Rdf + "about"), link, arxivId is null ? null : "arXiv:" + arxivId };
        ids.AddRange(item.Elements(DublinCore + "identifier").Select(Value));
        ids.AddRange(Prism(item, "doi").Select(Value));
        ids.AddRange(Prism(item, "url").Select(Value));

        var published = FirstDate(
            [item.Element(ns + "pubDate"), item.Element(DublinCore + "date"), ..Prism(item, "publicationDate"),
             ..Prism(item, "coverDate"), item.Element(DublinCoreTerms + "issued"), item.Element(DublinCoreTerms + "modified")]);
        // RSS titles are plain text by the letter of the spec, but many feeds put escaped HTML there
        // (<i>, &amp;amp;); read those as Atom type="html" titles are, so no markup reaches readers.
        var rawTitle = Value(item.Element(ns + "title")) ?? Value(item.Element(DublinCore + "title"));
        var title = TitleLooksLikeHtml(rawTitle) ? Text.FromHtml(rawTitle) : Text.Clean(rawTitle);
        return Build(context, ids, title, summary, authors, link, published, item.Elements(ns + "category").Select(c => c.Value));
    }

    [GeneratedRegex(@"^(?:\p{Lu}\.(?:\s*-?\s*\p{Lu}\.)*|\p{Lu}{1,3})$")]
    private static partial Regex Initials();

    /// <summary>
    /// bioRxiv/medRxiv write "Smith, A., Jones, B. C.": a part that is only initials belongs to the surname
    /// before it ("Smith, A." is one person), so people are not split into "Smith", "A.", ...
    /// </summary>
    private static IEnumerable<string> SurnameInitials(IReadOnlyList<string> parts)
    {
        for (var i = 0; i < parts.Count; i++)
        {
            if (i + 1 < parts.Count && !Initials().IsMatch(parts[i]) && Initials().IsMatch(parts[i + 1]))
            {
                yield return parts[i] + ", " + parts[i + 1];
                i++;
            }
            else
                yield return parts[i];
        }
    }

    private static List<string> AtomAuthors(XElement element)
    {
        var ns = element.Name.Namespace;
        return element.Elements(ns + "author")
            .Select(a => Text.Clean(Value(a.Element(ns + "name")) ?? Value(a.Element(ns + "email"))))
            .Where(a => a.Length > 0).ToList();
    }

    private static Entry? FromAtom(XElement entry, IReadOnlyList<string> feedAuthors, ItemContext context)
    {
        var ns = entry.Name.Namespace;
        var links = entry.Elements(ns + "link").Where(l => l.Attribute("href") is not null).ToList();
        var href = (links.FirstOrDefault(l => (string?)l.Attribute("rel") is null or "alternate") ?? links.FirstOrDefault())
            ?.Attribute("href")?.Value.Trim();
        var link = PaperLinks.FromSchemeless(href) ?? href;
        var summaryElement = entry.Element(ns + "summary") ?? entry.Element(ns + "content");
        var (summary, _) = Summary(TextConstruct(summaryElement, out var html), typedHtml: html);
        var authors = AtomAuthors(entry);
        if (authors.Count == 0)
            authors.AddRange(entry.Elements(DublinCore + "creator").SelectMany(c => Text.SplitAuthors(c.Value)));
        if (authors.Count == 0)
            authors.AddRange(feedAuthors);

        var ids = new List<string?> { Value(entry.Element(ns + "id")), link, Value(entry.Element(ArxivSchema + "doi")) };
        ids.AddRange(entry.Elements(DublinCore + "identifier").Select(Value));
        ids.AddRange(Prism(entry, "doi").Select(Value));

        var published = FirstDate(
            [entry.Element(ns + "published"), entry.Element(ns + "issued"), entry.Element(ns + "created"), entry.Element(DublinCore + "date"),
             ..Prism(entry, "publicationDate"), entry.Element(ns + "updated"), entry.Element(ns + "modified")]);
        var titleText = TextConstruct(entry.Element(ns + "title"), out var titleHtml);
        var title = titleHtml ? Text.FromHtml(titleText) : Text.Clean(titleText);
        return Build(context, ids, title, summary, authors, link, published, entry.Elements(ns + "category").Select(c => (string?)c.Attribute("term") ?? c.Value));
    }

    private static Entry? Build(ItemContext context, List<string?> ids, string title, string summary, IReadOnlyList<string> authors, string? link, DateTimeOffset? published,
        IEnumerable<string> categories)
    {
        var sourceName = context.SourceName;
        // A title-less item (RSS 0.92 allows one) is shown, and known, by the start of its text.
        if (title.Length == 0)
            title = Text.Truncate(summary, 100);
        if (CanonicalId.For(sourceName, ids, title, published, context.ArxivFeed) is not { } canonical)
            return null;
        // The item's own page is its URL; only an arXiv or HF page is replaced by the clean abs page of the same paper.
        var ownLink = HttpUrl(link) is not null && CanonicalId.TryArxiv(link) is null ? link : null;
        var url = ownLink
                  ?? (canonical.StartsWith("arxiv:", StringComparison.Ordinal) ? CanonicalId.ArxivAbsUrl(canonical) : null)
                  ?? (HttpUrl(link) is not null ? link : null)
                  ?? CanonicalId.PageUrl(canonical) ?? "";
        return new Entry(canonical, title, summary, authors, url, published, 0, sourceName, Categories(categories));
    }

    /// <summary>Categories kept per paper: arXiv papers have a handful; a hostile item must not fill a row.</summary>
    private const int MaxCategories = 20;

    /// <summary>RSS <c>&lt;category&gt;</c> text or Atom <c>term</c> (arXiv categories for arXiv feeds); spaces would break the stored list, so such labels are joined.</summary>
    private static string[] Categories(IEnumerable<string> raw) =>
        raw.Select(c => Text.Clean(c).Replace(' ', '_')).Where(c => c.Length is > 0 and <= 50).Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxCategories).ToArray();

    /// <summary>The arXiv RSS description carries the versioned id and the abstract; other descriptions may be HTML.</summary>
    private static (string Summary, string? ArxivId) Summary(string? description, bool typedHtml)
    {
        if (description is not null && ArxivDescription().Match(description) is { Success: true } match)
            return (Text.Clean(match.Groups["abstract"].Value), match.Groups["id"].Value);
        return (typedHtml || LooksLikeHtml(description) ? Text.FromHtml(description) : Text.Clean(description), null);
    }

    /// <summary>
    /// An Atom text construct: 1.0 says <c>type="text|html|xhtml"</c>, 0.3 a MIME type and
    /// <c>mode="xml|escaped|base64"</c>. Inline XHTML comes back as markup, flagged as HTML.
    /// </summary>
    private static string? TextConstruct(XElement? element, out bool html)
    {
        html = false;
        if (element is null)
            return null;
        var type = ((string?)element.Attribute("type") ?? "text").Trim().ToLowerInvariant();
        var mode = ((string?)element.Attribute("mode") ?? "").Trim().ToLowerInvariant();
        if (type is "xhtml" or "application/xhtml+xml" || mode == "xml" || element.HasElements)
        {
            html = true;
            return string.Concat(element.Nodes().Select(n => n.ToString(SaveOptions.DisableFormatting)));
        }
        var value = element.Value;
        if (mode == "base64")
            value = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value.Trim()));
        html = type is "html" or "text/html" || (mode == "escaped" && type != "text/plain");
        return value;
    }

    /// <summary>PRISM has been published under several namespace versions (1.2, 2.0, 3.0); any of them counts.</summary>
    private static IEnumerable<XElement> Prism(XElement item, string name) =>
        item.Elements().Where(e => e.Name.LocalName == name && e.Name.NamespaceName.StartsWith("http://prismstandard.org/namespaces/", StringComparison.Ordinal));

    /// <summary>RSS 2.0 <c>author</c> is an address, often "jane@example.org (Jane Doe)": the name when given.</summary>
    private static string RssAuthor(string value)
    {
        var open = value.IndexOf('(');
        var close = value.LastIndexOf(')');
        return Text.Clean(open >= 0 && close > open ? value[(open + 1)..close] : value);
    }

    private static string? Value(XElement? element) =>
        element is null || string.IsNullOrWhiteSpace(element.Value) ? null : element.Value.Trim();

    private static DateTimeOffset? FirstDate(IEnumerable<XElement?> candidates)
    {
        foreach (var candidate in candidates)
            if (FeedDates.Parse(Value(candidate)) is { } date)
                return date;
        return null;
    }

    [GeneratedRegex(@"</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>|&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HtmlTagOrEntity();

    /// <summary>A tag (<c>&lt;i&gt;</c>, <c>&lt;/sub&gt;</c>) or a character reference left after XML decoding; "a &lt; b" or "AT&amp;T" are text.</summary>
    private static bool TitleLooksLikeHtml(string? text) =>
        text is not null && HtmlTagOrEntity().IsMatch(text);

    private static bool LooksLikeHtml(string? text) =>
        text is not null && text.Contains('<') && text.Contains('>');
}

/// <summary>Feed dates: RFC 822 (RSS, with named zones and two-digit years) and W3C/ISO 8601 (Atom, DC, PRISM).</summary>
public static partial class FeedDates
{
    [GeneratedRegex(@"^(?:[A-Za-z]{3,9},?\s*)?(?<day>\d{1,2})\s+(?<month>[A-Za-z]{3,9})\.?\s+(?<year>\d{2,4})(?:\s+(?<time>\d{1,2}:\d{2}(?::\d{2})?))?\s*(?<zone>[A-Za-z]{1,5}|[+\-]\d{2}:?\d{2})?\s*$")]
    private static partial Regex Rfc822();

    private static readonly Dictionary<string, int> ZoneHours = new(StringComparer.OrdinalIgnoreCase)
    {
        ["GMT"] = 0, ["UT"] = 0, ["UTC"] = 0, ["Z"] = 0,
        ["EST"] = -5, ["EDT"] = -4, ["CST"] = -6, ["CDT"] = -5, ["MST"] = -7, ["MDT"] = -6, ["PST"] = -8, ["PDT"] = -7,
    };

    public static DateTimeOffset? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var text = value.Trim();
        if (Rfc822().Match(text) is { Success: true } match)
        {
            // An impossible date (31 Feb, 25:99, +9999) is no date, not a broken item.
            try { return FromRfc822(match); }
            catch (Exception exception) when (exception is FormatException or ArgumentOutOfRangeException or OverflowException) { return null; }
        }
        // ISO 8601 / W3CDTF, including date-only values (PRISM dates are often "2025-09-08").
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var iso)
            ? iso : null;
    }

    private static DateTimeOffset? FromRfc822(Match match)
    {
        var monthText = match.Groups["month"].Value;
        var month = Array.FindIndex(CultureInfo.InvariantCulture.DateTimeFormat.AbbreviatedMonthNames,
            m => m.Length > 0 && monthText.StartsWith(m, StringComparison.OrdinalIgnoreCase)) + 1;
        if (month == 0)
            return null;
        var year = int.Parse(match.Groups["year"].Value, CultureInfo.InvariantCulture);
        if (year < 100)
            year += year < 50 ? 2000 : 1900;
        var time = match.Groups["time"].Success ? TimeOnly.Parse(match.Groups["time"].Value, CultureInfo.InvariantCulture) : TimeOnly.MinValue;
        var zone = match.Groups["zone"].Value;
        var offset = zone switch
        {
            "" => TimeSpan.Zero,
            _ when ZoneHours.TryGetValue(zone, out var hours) => TimeSpan.FromHours(hours),
            _ when zone[0] is '+' or '-' => Offset(zone),
            _ => TimeSpan.Zero, // military or unknown zone letters: RFC 822 says treat as UTC
        };
        var day = int.Parse(match.Groups["day"].Value, CultureInfo.InvariantCulture);
        if (day > DateTime.DaysInMonth(year, month))
            return null;
        return new DateTimeOffset(new DateOnly(year, month, day), time, offset);
    }

    private static TimeSpan Offset(string zone)
    {
        var digits = zone[1..].Replace(":", "", StringComparison.Ordinal);
        var offset = new TimeSpan(int.Parse(digits[..2], CultureInfo.InvariantCulture), int.Parse(digits[2..], CultureInfo.InvariantCulture), 0);
        return zone[0] == '-' ? -offset : offset;
    }
}

/// <summary>
/// The Netscape RSS 0.91 DTD declares the HTML 4 entities (Latin-1, symbols, special: <c>&amp;eacute;</c>,
/// <c>&amp;nbsp;</c>, <c>&amp;mdash;</c>, ...) and feeds written against it use them. DTDs are skipped, never
/// read, so for a document that names that DTD by its public id those references are rewritten as
/// numeric character references from a built-in table (the HTML 4 set .NET's HTML decoder knows), before
/// parsing. Nothing else changes: any other name stays undeclared, so XXE and entity bombs still fail.
/// </summary>
internal static partial class NetscapeEntities
{
    private static readonly byte[] PublicId = "-//Netscape Communications//DTD RSS 0.91//EN"u8.ToArray();

    private static readonly HashSet<string> XmlOwn = ["amp", "lt", "gt", "quot", "apos"];

    // Entity names are ASCII, and so are their bytes in UTF-8, Latin-1 and windows-1252 alike.
    [GeneratedRegex(@"&([A-Za-z][A-Za-z0-9]{1,7});")]
    private static partial Regex Reference();

    public static ReadOnlyMemory<byte> Resolve(ReadOnlyMemory<byte> content)
    {
        var head = content.Span[..Math.Min(content.Length, 4096)];
        var doctype = head.IndexOf("<!DOCTYPE"u8);
        if (doctype < 0 || head[doctype..].IndexOf(PublicId) < 0 || content.Span.IndexOf((byte)'&') < 0)
            return content;
        // Latin-1 maps bytes to chars one to one, so the bytes outside the references come back unchanged.
        var text = System.Text.Encoding.Latin1.GetString(content.Span);
        var replaced = Reference().Replace(text, match =>
        {
            var name = match.Groups[1].Value;
            if (XmlOwn.Contains(name))
                return match.Value;
            var decoded = System.Net.WebUtility.HtmlDecode(match.Value);
            return decoded == match.Value ? match.Value : string.Concat(decoded.EnumerateRunes().Select(r => $"&#{r.Value};"));
        });
        return ReferenceEquals(replaced, text) ? content : System.Text.Encoding.Latin1.GetBytes(replaced);
    }
}

