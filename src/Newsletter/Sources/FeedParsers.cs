using System.Xml;

namespace Newsletter.Sources;

/// <summary>Picks the parser for a source kind; <see cref="SourceKind.Auto"/> looks at the content.</summary>
public static class FeedParsers
{
    public static IReadOnlyList<Entry> Parse(SourceKind kind, ReadOnlyMemory<byte> content, string sourceName)
    {
        var resolved = kind == SourceKind.Auto ? Detect(content) : kind;
        return resolved switch
        {
            SourceKind.HuggingFaceDaily => HuggingFaceDailyParser.Parse(content, sourceName),
            SourceKind.JsonFeed => JsonFeedParser.Parse(content, sourceName),
            SourceKind.Rss or SourceKind.Atom => SyndicationParser.Parse(content, sourceName, arxivApi: false),
            SourceKind.ArxivApi => SyndicationParser.Parse(content, sourceName, arxivApi: true),
            _ => throw new SourceException($"unknown source kind {kind}"),
        };
    }

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
        switch ((char)span[start])
        {
            case '[':
                return SourceKind.HuggingFaceDaily;
            case '{':
                return SourceKind.JsonFeed;
            case '<':
                using (var reader = SyndicationParser.CreateReader(content))
                {
                    reader.MoveToContent();
                    return reader.LocalName switch
                    {
                        "rss" => SourceKind.Rss,
                        "feed" when reader.NamespaceURI == "http://www.w3.org/2005/Atom" => SourceKind.Atom,
                        _ => throw new SourceException($"unrecognised XML document <{reader.LocalName}>; expected RSS 2.0 or Atom"),
                    };
                }
            default:
                throw new SourceException("the response is neither JSON nor XML");
        }
    }
}
