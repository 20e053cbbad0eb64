namespace Newsletter.Sources;

/// <summary>What one fetch of a source yielded: its entries, and one reason per item that had to be skipped.</summary>
public sealed record ParsedFeed(IReadOnlyList<Entry> Entries, IReadOnlyList<string> Skipped);

/// <summary>
/// Collects a feed's items one at a time: an item that cannot become an entry is skipped with a
/// reason naming it, and never costs the good items beside it.
/// </summary>
internal sealed class ParsedFeedBuilder
{
    private readonly List<Entry> _entries = [];
    private readonly List<string> _skipped = [];

    /// <summary><paramref name="read"/> returns null, or throws, for an item that is not usable.</summary>
    public void Add(int index, Func<Entry?> read)
    {
        try
        {
            if (read() is { } entry)
                _entries.Add(entry.WithinLimits());
            else
                _skipped.Add($"item {index + 1} has no id, link or title");
        }
        catch (Exception exception) when (exception is FormatException or InvalidOperationException or ArgumentException
                                              or System.Text.Json.JsonException or System.Xml.XmlException or UriFormatException)
        {
            _skipped.Add($"item {index + 1}: {exception.Message}");
        }
    }

    public ParsedFeed Build() => new(_entries, _skipped);
}

/// <summary>Picks the parser for a source kind; <see cref="SourceKind.Auto"/> looks at the content.</summary>
public static class FeedParsers
{
    public static ParsedFeed Parse(SourceKind kind, ReadOnlyMemory<byte> content, string sourceName)
    {
        var resolved = kind == SourceKind.Auto ? Detect(content) : kind;
        return resolved switch
        {
            SourceKind.HuggingFaceDaily => HuggingFaceDailyParser.Parse(WithoutBom(content), sourceName),
            SourceKind.JsonFeed => JsonFeedParser.Parse(WithoutBom(content), sourceName),
            // One XML reader for every dialect: an "Rss" source that turns out to serve Atom (or RDF) is still read.
            SourceKind.Rss or SourceKind.Atom => XmlFeedParser.Parse(content, sourceName, arxivApi: false),
            SourceKind.ArxivApi => XmlFeedParser.Parse(content, sourceName, arxivApi: true),
            _ => throw new SourceException($"unknown source kind {kind}"),
        };
    }

    /// <summary>
    /// System.Text.Json refuses a UTF-8 byte order mark (RFC 8259 says a parser may ignore it; many servers
    /// send one). The XML reader handles its own.
    /// </summary>
    private static ReadOnlyMemory<byte> WithoutBom(ReadOnlyMemory<byte> content) =>
        content.Span.StartsWith("\uFEFF"u8) ? content[3..] : content;

    public static SourceKind Detect(ReadOnlyMemory<byte> content)
    {
        var span = content.Span;
        var start = 0;
        if (span.StartsWith("\uFEFF"u8))
            start = 3;
        while (start < span.Length && char.IsWhiteSpace((char)span[start]))
            start++;
        if (start == span.Length)
            throw new SourceException("the response is empty");
        return (char)span[start] switch
        {
            '[' => SourceKind.HuggingFaceDaily,
            '{' => SourceKind.JsonFeed,
            '<' => XmlFeedParser.DetectDialect(content) is XmlDialect.Atom03 or XmlDialect.Atom10 ? SourceKind.Atom : SourceKind.Rss,
            _ => throw new SourceException("the response is neither JSON nor XML"),
        };
    }
}
