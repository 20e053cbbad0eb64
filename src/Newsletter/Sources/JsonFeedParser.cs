using System.Text.Json;

namespace Newsletter.Sources;

/// <summary>JSON Feed 1.0 and 1.1: <c>authors</c> (1.1) or the older <c>author</c>; keys starting with "_" are extensions and ignored.</summary>
public static class JsonFeedParser
{
    public static ParsedFeed Parse(ReadOnlyMemory<byte> content, string sourceName)
    {
        using var document = JsonDocument.Parse(content);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            throw new SourceException("not a JSON Feed: no \"items\" array");
        var feedAuthors = Authors(root);
        var feed = new ParsedFeedBuilder();
        var index = 0;
        foreach (var item in items.EnumerateArray())
            feed.Add(index++, () => item.ValueKind == JsonValueKind.Object ? ToEntry(item, feedAuthors, sourceName) : throw new FormatException($"is a JSON {item.ValueKind}, not an object"));
        return feed.Build();
    }

    private static Entry? ToEntry(JsonElement item, IReadOnlyList<string> feedAuthors, string sourceName)
    {
        // JSON Feed 1.0 producers often write a numeric id; the spec says string, the meaning is the same.
        var id = String(item, "id") ?? (item.TryGetProperty("id", out var number) && number.ValueKind == JsonValueKind.Number ? number.GetRawText() : null);
        var url = String(item, "url");
        var externalUrl = String(item, "external_url");
        var body = String(item, "content_text") is { } plain ? Text.Clean(plain) : Text.FromHtml(String(item, "content_html"));
        var summary = String(item, "summary") is { } s ? Text.Clean(s) : body;
        var title = Text.Clean(String(item, "title"));
        if (title.Length == 0)
            title = Text.Truncate(body.Length > 0 ? body : summary, 100);
        var authors = Authors(item);
        var published = Date(item, "date_published") ?? Date(item, "date_modified");
        if (CanonicalId.For(sourceName, [externalUrl, url, id], title, published) is not { } canonical)
            return null;
        return new Entry(
            canonical,
            title,
            summary,
            authors.Count > 0 ? authors : feedAuthors,
            // A clickable link first: a scheme-less "arxiv.org/abs/ID" as its page, a relative url only when nothing better exists.
            PaperLinks.Absolute(url) ?? PaperLinks.Absolute(externalUrl) ?? CanonicalId.PageUrl(canonical) ?? url ?? externalUrl ?? "",
            published,
            0,
            sourceName);
    }

    private static IReadOnlyList<string> Authors(JsonElement element)
    {
        if (element.TryGetProperty("authors", out var authors) && authors.ValueKind == JsonValueKind.Array)
            return authors.EnumerateArray().Select(a => Text.Clean(String(a, "name"))).Where(n => n.Length > 0).ToArray();
        if (element.TryGetProperty("author", out var author) && author.ValueKind == JsonValueKind.Object && String(author, "name") is { } name)
            return [Text.Clean(name)];
        return [];
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Date(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var date)
            ? date : null;
}
